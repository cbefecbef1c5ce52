package machine

import (
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

// detectPlatform on variants of the fixtures: every rule, and the machines
// that look like a VM's vendor without being one.
func TestDetectPlatform(t *testing.T) {
	dmi := func(kv ...string) change {
		return func(m *machine) {
			for i := 0; i+1 < len(kv); i += 2 {
				m.DMI[kv[i]] = kv[i+1]
			}
		}
	}
	file := func(path, content string) change {
		return func(m *machine) {
			if m.Files == nil {
				m.Files = map[string]string{}
			}
			m.Files[path] = content
		}
	}
	noDMI := func(m *machine) { m.DMI = map[string]string{} }
	hv := func(m *machine) { m.Hypervisor = true }
	tests := []struct {
		name string
		m    machine
		want string
	}{
		{"rack server", rackServer, "physical"},
		{"laptop", laptop, "physical"},
		{"aws nitro", awsM5, "vm:aws"},
		// Xen-generation EC2 (t2, m4): "Xen" "HVM domU", version "4.11.amazon".
		{"aws xen", apply(awsM5, dmi("sys_vendor", "Xen", "product_name", "HVM domU", "product_version", "4.11.amazon", "bios_vendor", "Xen", "bios_version", "4.11.amazon", "board_vendor", "", "chassis_vendor", "Xen")), "vm:aws"},
		// Bare metal (m5.metal) has Amazon's DMI but no hypervisor.
		{"aws metal", apply(awsM5, dmi("product_name", "m5.metal"), func(m *machine) { m.Hypervisor = false }), "physical"},
		{"aws metal seen as a VM if the flag says so", apply(awsM5, dmi("product_name", "m5.metal")), "vm:aws"},
		{"azure", azureD2, "vm:azure"},
		{"hyper-v", hypervVM, "vm:hyperv"},
		{"hyper-v gen 1 (version 7.0, no tag)", apply(hypervVM, dmi("product_version", "7.0", "bios_version", "090008")), "vm:hyperv"},
		{"gce", gceN2, "vm:gce"},
		{"a Chromebook is Google, not GCE", apply(laptop, dmi("sys_vendor", "Google", "product_name", "Eve", "board_vendor", "Google")), "physical"},
		{"a Surface is Microsoft, not Hyper-V", apply(laptop, dmi("sys_vendor", "Microsoft Corporation", "product_name", "Surface Laptop 5")), "physical"},
		{"vmware", vmwareVM, "vm:vmware"},
		{"vmware, old BIOS product name", apply(vmwareVM, dmi("product_name", "VMware Virtual Platform", "bios_vendor", "Phoenix Technologies LTD")), "vm:vmware"},
		{"proxmox", proxmoxVM, "vm:kvm"},
		{"qemu q35 (the base vm fixture)", vm, "vm:kvm"},
		{"virtualbox", virtualboxVM, "vm:virtualbox"},
		{"oracle cloud", apply(proxmoxVM, dmi("chassis_asset_tag", "OracleCloud.com")), "vm:oci"},
		{"parallels", apply(laptop, hv, dmi("sys_vendor", "Parallels International GmbH.", "product_name", "Parallels ARM Virtual Machine")), "vm:parallels"},
		{"openstack", apply(proxmoxVM, dmi("sys_vendor", "OpenStack Foundation", "product_name", "OpenStack Nova")), "vm:openstack"},
		{"alibaba", apply(proxmoxVM, dmi("sys_vendor", "Alibaba Cloud", "product_name", "Alibaba Cloud ECS")), "vm:alibaba"},
		{"xen pv: no DMI, /sys/hypervisor/type", apply(rackServer, noDMI, file("sys/hypervisor/type", "xen")), "vm:xen"},
		{"an unnamed hypervisor: the flag alone", apply(rackServer, noDMI, hv), "vm:other"},
		{"docker on the server", dockerOnServer, "container:physical"},
		{"podman", apply(rackServer, file("run/.containerenv", "engine=\"podman-4.9.3\"")), "container:physical"},
		{"kubernetes, cgroup v1", apply(rackServer, file("proc/1/cgroup", "12:memory:/kubepods/besteffort/pod4f1c/0a1b2c3d\n0::/")), "container:physical"},
		{"lxc, init's environment", apply(rackServer, file("proc/1/environ", "PATH=/usr/bin\x00container=lxc\x00")), "container:physical"},
		{"nspawn", apply(rackServer, file("run/systemd/container", "systemd-nspawn")), "container:physical"},
		{"a veth-only network and nothing else", apply(rackServer, func(m *machine) {
			m.NICs = []nic{{Name: "eth0", MAC: "9e:1f:22:33:44:55", Virtual: true, AssignType: 3}}
		}), "container:physical"},
		{"an empty container= is no container", apply(rackServer, file("proc/1/environ", "container=\x00")), "physical"},
		{"cgroup v2 root alone is no container", apply(rackServer, file("proc/1/cgroup", "0::/init.scope")), "physical"},
		{"docker on gce", apply(gceN2, file(".dockerenv", "")), "container:vm:gce"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := tc.m.write(dir); err != nil {
				t.Fatal(err)
			}
			if got := detectPlatform(dir); got != tc.want {
				t.Errorf("detectPlatform = %q, want %q", got, tc.want)
			}
		})
	}
}

// The empty root is this machine's "/", not the working directory.
func TestDetectPlatformThisMachine(t *testing.T) {
	if got, want := detectPlatform(""), detectPlatform("/"); got != want {
		t.Fatalf("detectPlatform(\"\") = %q, detectPlatform(\"/\") = %q", got, want)
	}
	t.Logf("this machine: %s", detectPlatform(""))
}

// Whatever the SMBIOS strings say, the value is one of the closed set (or
// it would be dropped as absent, and PolicyFor could not read it back).
func FuzzClassifyHost(f *testing.F) {
	f.Add("Amazon EC2", "m5.metal", "", "Amazon EC2", "Amazon EC2", "1.0", "", false, "")
	f.Add("Microsoft Corporation", "Virtual Machine", "7.0", "Microsoft Corporation", "Microsoft Corporation", "Hyper-V UEFI Release v4.1", azureAssetTag, true, "")
	f.Add("", "", "", "", "", "", "", true, "xen")
	f.Fuzz(func(t *testing.T, sys, product, version, board, bios, biosVersion, tag string, hv bool, hvType string) {
		v := classifyHost(platformFacts{sys, product, version, board, bios, biosVersion, tag, hv, hvType})
		if fingerprint.Normalize(fingerprint.Platform, v) != v || v == "" {
			t.Fatalf("classifyHost gave %q, not a platform value", v)
		}
		if c := fingerprint.PlatformContainerPrefix + v; fingerprint.Normalize(fingerprint.Platform, c) != c {
			t.Fatalf("%q is not a platform value", c)
		}
	})
}
