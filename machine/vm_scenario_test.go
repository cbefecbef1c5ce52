package machine

import (
	"errors"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

// Changes that happen to virtual machines and containers.
var (
	// newHostCPU: the VM starts on (or is migrated to, and rebooted on) a
	// host with another processor.
	newHostCPU = func(model string) change { return func(m *machine) { m.CPUModel = model } }
	// awsResize: m5.large to m6i.large, a stop and start onto an Ice Lake
	// host (AWS "M6i": Xeon Platinum 8375C); the instance, its UUID, its
	// EBS volume and its ENI stay.
	awsResize = func(m *machine) {
		m.DMI["product_name"] = "m6i.large"
		m.CPUModel = "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
		m.Microcode = "0xd0003a5"
	}
	// azureRedeploy: a redeploy moves the VM to another host, which gives
	// it another processor, newer host firmware and a new temporary disk.
	azureRedeploy = func(m *machine) {
		m.CPUModel = "Intel(R) Xeon(R) Platinum 8370C CPU @ 2.80GHz"
		m.DMI["bios_date"] = "11/02/2023"
		m.Disks[1].WWN = "0x60022480e7d6c5b4a3928170f6e5d4c3"
	}
	// newMAC: the hypervisor gives the VM's NIC another MAC (VMware after
	// "I moved it" with a MAC conflict, a Hyper-V dynamic MAC on another node).
	newMAC = func(mac string) change { return func(m *machine) { m.NICs[0].MAC = mac } }
	// vmCopy: a clone from a template, or a sibling from the same image:
	// the hypervisor gives it a new UUID (and the serials made from it) and
	// a new MAC; the disk is a copy.
	vmCopy = func(uuid, serial, boardSerial, mac string) change {
		return func(m *machine) {
			m.DMI["product_uuid"] = uuid
			if serial != "" {
				m.DMI["product_serial"] = serial
			}
			if boardSerial != "" {
				m.DMI["board_serial"] = boardSerial
			}
			if mac != "" {
				m.NICs[0].MAC = mac
			}
		}
	}
	// otherContainer: another container on the same host.
	otherContainer = func(m *machine) {
		m.Hostname = "9a8b7c6d5e4f"
		m.NICs[0].MAC = "02:42:ac:11:00:03"
	}
	// rootless: a container whose root is not the host's root (user
	// namespace): the root-only DMI files are unreadable.
	rootless = nonRoot
)

func TestVMScenarios(t *testing.T) {
	tests := []struct {
		name     string
		base     machine
		enrolled []change // applied to base before enrolment
		now      []change // applied to the enrolled machine
		platform string   // of the enrolled machine
		same     bool
		why      string // in the reason; alternatives separated by "|"
		// defaultWhy, when set, is why DefaultPolicy (the physical rule)
		// refuses the same pair: what the VM rule is for.
		defaultWhy string
	}{
		// Moves keep the device: the VM's UUID and serials decide.
		{"aws: resize m5 to m6i", awsM5, nil, []change{awsResize}, "vm:aws", true, "reaches the threshold", "cpu changed"},
		{"aws: stop and start on a Cascade Lake host", awsM5, nil, []change{newHostCPU("Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz")}, "vm:aws", true, "reaches the threshold", "cpu changed"},
		{"azure: redeploy to another host", azureD2, nil, []change{azureRedeploy}, "vm:azure", true, "reaches the threshold", "cpu changed"},
		{"gce: live migration, then a reboot on an Ice Lake host", gceN2, nil, []change{newHostCPU("Intel(R) Xeon(R) CPU @ 2.60GHz")}, "vm:gce", true, "reaches the threshold", "cpu changed"},
		{"vmware: vMotion to a newer host (EVC off), rebooted", vmwareVM, nil, []change{newHostCPU("Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz")}, "vm:vmware", true, "reaches the threshold", "cpu changed"},
		{"vmware: moved, UUID kept, new MAC", vmwareVM, nil, []change{newMAC("00:50:56:a3:11:0c")}, "vm:vmware", true, "reaches the threshold", ""},
		{"hyperv: restart on another cluster node (new CPU, dynamic MAC)", hypervVM, nil, []change{newHostCPU("Intel(R) Xeon(R) Gold 5318Y CPU @ 2.10GHz"), newMAC("00:15:5d:0a:2c:03")}, "vm:hyperv", true, "reaches the threshold", "cpu changed"},
		{"proxmox: live migration to an EPYC 9004 node", proxmoxVM, nil, []change{newHostCPU("AMD EPYC 9354P 32-Core Processor")}, "vm:kvm", true, "reaches the threshold", "cpu changed"},
		{"virtualbox: more memory", virtualboxVM, nil, []change{ramUpgrade}, "vm:virtualbox", true, "reaches the threshold", ""},
		// VirtualBox's serial "0" is a placeholder: setting real serials
		// (VBoxManage setextradata ... DmiSystemSerial) is not a new device.
		{"virtualbox: real serials set on the VM", virtualboxVM, nil, []change{func(m *machine) { m.DMI["product_serial"], m.DMI["board_serial"] = "VBX-7731-01", "VBX-B-7731" }}, "vm:virtualbox", true, "reaches the threshold", ""},

		// Copies are new devices: a new UUID decides.
		{"aws: a sibling from the same AMI", awsM5, nil, []change{vmCopy("EC2B81D0-6A4F-2C3E-7D8A-9F0E1D2C3B4A", "ec2b81d0-6a4f-2c3e-7d8a-9f0e1d2c3b4a", "", "0a:77:1e:42:9c:05"), func(m *machine) { m.Disks[0].Serial = "vol0f9e8d7c6b5a40312" }}, "vm:aws", false, "system-uuid changed", ""},
		{"azure: a sibling from the same gallery image", azureD2, nil, []change{vmCopy("5b3d7f1a-2c4e-4b6a-8d0f-1e3a5c7e9b2d", "0000-0011-2233-4455-6677-8899-00", "0000-0003-1415-9265-3589-7932-38", "00:0d:3a:9c:11:47")}, "vm:azure", false, "changed, and it decides", ""},
		{"gce: a sibling from the same instance template", gceN2, nil, []change{vmCopy("7c2e4a6b-8d0f-1a3c-5e7a-9b1d3f5a7c9e", "GoogleCloud-7C2E4A6B8D0F1A3C5E7A9B1D3F5A7C9E", "Board-GoogleCloud-7C2E4A6B8D0F1A3C5E7A9B1D3F5A7C9E", "")}, "vm:gce", false, "changed, and it decides", ""},
		{"vmware: a clone from a template", vmwareVM, nil, []change{vmCopy("6a4f2e53-8c7b-0e9d-1f20-3a4b5c6d7e8f", "VMware-53 2e 4f 6a 7b 8c 9d 0e-1f 20 3a 4b 5c 6d 7e 8f", "", "00:50:56:9a:7c:33")}, "vm:vmware", false, "system-uuid changed", ""},
		{"hyperv: exported and imported as a copy (new ID)", hypervVM, nil, []change{vmCopy("e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", "8841-0276-3315-7745-0093-2218-64", "4410-2290-6634-1187-5562-0871-33", "00:15:5d:0a:1e:09")}, "vm:hyperv", false, "changed, and it decides", ""},
		{"proxmox: a full clone of a template", proxmoxVM, nil, []change{vmCopy("0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f", "", "", "bc:24:11:a0:44:17")}, "vm:kvm", false, "system-uuid changed", ""},
		{"virtualbox: clonevm", virtualboxVM, nil, []change{vmCopy("a7b8c9d0-e1f2-4a3b-8c4d-5e6f7a8b9c0d", "", "", "08:00:27:c4:81:2e"), func(m *machine) { m.Disks[0].Serial = "VB7f0e9d8c-1b2a3c4d" }}, "vm:virtualbox", false, "system-uuid changed", ""},

		// Read without root: no UUID and no serials. The VM is not
		// recognised from model values and pseudo-identifiers alone:
		// honestly undecided, never "same".
		{"aws: same instance, now read without root", awsM5, nil, []change{nonRoot}, "vm:aws", false, "system-uuid was read at activation but cannot be read now", ""},
		{"gce: a sibling from the same template, both read without root", gceN2, []change{nonRoot}, []change{vmCopy("", "", "", ""), nonRoot}, "vm:gce", false, "too little hardware identity", "too little hardware identity"},
		{"gce: same instance after a migration, both read without root", gceN2, []change{nonRoot}, []change{newHostCPU("Intel(R) Xeon(R) CPU @ 2.60GHz")}, "vm:gce", false, "too little hardware identity", ""},
		{"proxmox: a template clone, both read without root", proxmoxVM, []change{nonRoot}, []change{newMAC("bc:24:11:a0:44:17")}, "vm:kvm", false, "too little hardware identity", "below the threshold"},
		{"vmware: same VM, both read without root", vmwareVM, []change{nonRoot}, []change{newHostCPU("Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz")}, "vm:vmware", false, "too little hardware identity", ""},

		// Containers are their host.
		{"docker: another container on the same host", dockerOnServer, nil, []change{otherContainer}, "container:physical", true, "reaches the threshold", ""},
		{"docker: the host itself", dockerOnServer, nil, []change{func(m *machine) { *m = rackServer.clone() }}, "container:physical", true, "reaches the threshold", ""},
		{"docker: a container on another server of the same model", dockerOnServer, nil, []change{otherContainer, sameModelOtherUnit, func(m *machine) {
			m.NICs = []nic{{Name: "eth0", MAC: "02:42:ac:11:00:02", Virtual: true, AssignType: 3}}
		}}, "container:physical", false, "board-serial changed", ""},
		{"docker on EC2: the instance resized", func() machine {
			m := awsM5.clone()
			m.Disks[0].Serial = ""
			m.NICs = []nic{{Name: "eth0", MAC: "02:42:ac:11:00:02", Virtual: true, AssignType: 3}}
			m.Files = map[string]string{".dockerenv": ""}
			return m
		}(), nil, []change{awsResize, otherContainer}, "container:vm:aws", true, "reaches the threshold", "cpu changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enrolledMachine := apply(tc.base, tc.enrolled...)
			enrolled := collectMachine(t, enrolledMachine)
			current := collectMachine(t, apply(enrolledMachine, tc.now...))
			if got := fingerprint.PlatformOf(enrolled); got != tc.platform {
				t.Fatalf("platform %q, want %q", got, tc.platform)
			}
			p := fingerprint.PolicyFor(enrolled)
			r := fingerprint.Match(enrolled, current, p)
			if r.Same != tc.same || !containsAny(r.Reason(), tc.why) {
				t.Errorf("same device = %v, want %v because %q\n%s", r.Same, tc.same, tc.why, r.String())
			}
			if tc.defaultWhy != "" {
				if d := fingerprint.Match(enrolled, current, &fingerprint.DefaultPolicy); d.Same || !containsAny(d.Reason(), tc.defaultWhy) {
					t.Errorf("under the physical rule: same device = %v, want false because %q\n%s", d.Same, tc.defaultWhy, d.String())
				}
			}
		})
	}
}

func containsAny(s, alternatives string) bool {
	for _, a := range strings.Split(alternatives, "|") {
		if strings.Contains(s, a) {
			return true
		}
	}
	return false
}

// The platform goes in the fingerprint, weighs nothing, and picks the policy
// of every fixture.
func TestVMFixturePlatforms(t *testing.T) {
	want := map[string]string{
		"aws": "vm:aws", "azure": "vm:azure", "gce": "vm:gce", "vmware": "vm:vmware", "hyperv": "vm:hyperv",
		"proxmox": "vm:kvm", "virtualbox": "vm:virtualbox", "docker": "container:physical",
	}
	for name, m := range vmMachines {
		fp := collectMachine(t, m)
		if got := fingerprint.PlatformOf(fp); got != want[name] {
			t.Errorf("%s: platform %q, want %q", name, got, want[name])
		}
		wantPolicy := fingerprint.VMPolicy
		if name == "docker" {
			wantPolicy = fingerprint.DefaultPolicy
		}
		if *fingerprint.PolicyFor(fp) != wantPolicy {
			t.Errorf("%s: wrong policy", name)
		}
	}
	for name, m := range baseMachines {
		want := map[string]string{"server": "physical", "laptop": "physical", "vm": "vm:kvm"}[name]
		if got := fingerprint.PlatformOf(collectMachine(t, m)); got != want {
			t.Errorf("%s: platform %q, want %q", name, got, want)
		}
	}
}

// Pseudo-identifiers never reach the profile: what a clone or a sibling
// shares with the original is not identity.
func TestVMPseudoIdentifiersDropped(t *testing.T) {
	for name, m := range map[string]machine{"gce": gceN2, "proxmox": proxmoxVM, "virtualbox": virtualboxVM, "docker": dockerOnServer} {
		p := collectProfile(t, m)
		for _, c := range []fingerprint.Component{fingerprint.Disks, fingerprint.NICs, fingerprint.SystemSerial, fingerprint.BoardSerial} {
			for _, v := range p.Values[c] {
				l := strings.ToLower(v)
				if strings.Contains(l, "persistent-disk") || strings.Contains(l, "drive-scsi") || strings.HasPrefix(l, "42:01:") || strings.HasPrefix(l, "02:42:") || l == "0" {
					t.Errorf("%s: pseudo-identifier %q kept as %s", name, v, c)
				}
			}
		}
	}
	// What stays: VirtualBox's disk serial (one per medium), GCE's serials.
	if p := collectProfile(t, virtualboxVM); len(p.Values[fingerprint.Disks]) != 1 || p.Values[fingerprint.SystemSerial] != nil {
		t.Errorf("virtualbox: disks %v, system serial %v", p.Values[fingerprint.Disks], p.Values[fingerprint.SystemSerial])
	}
	if p := collectProfile(t, gceN2); len(p.Values[fingerprint.SystemSerial]) != 1 || len(p.Values[fingerprint.BoardSerial]) != 1 {
		t.Errorf("gce: serials dropped: %v", p.Values)
	}
}

// A container that sees no identity of its host (rootless, no TPM, its own
// network) is refused by Collect, with the mounts that would fix it; the
// same container as root is its host.
func TestContainerWithoutHostIdentity(t *testing.T) {
	dir := t.TempDir()
	if err := apply(dockerOnServer, rootless).write(dir); err != nil {
		t.Fatal(err)
	}
	_, err := Collect(Options{Root: dir})
	if !errors.Is(err, ErrNoHostIdentity) {
		t.Fatalf("rootless container collected: %v", err)
	}
	for _, hint := range []string{"/sys/class/dmi/id", "/dev/tpmrm0", "container:physical"} {
		if !strings.Contains(err.Error(), hint) {
			t.Errorf("refusal does not mention %q: %v", hint, err)
		}
	}
	// The same host seen rootless from outside a container is undecided at
	// match time, not refused at collection: only containers are refused.
	host := t.TempDir()
	if err := apply(rackServer, nonRoot, func(m *machine) {
		for i := range m.Disks {
			m.Disks[i].Serial, m.Disks[i].WWN = "", ""
		}
		m.NICs = nil
	}).write(host); err != nil {
		t.Fatal(err)
	}
	if _, err := Collect(Options{Root: host}); err != nil {
		t.Fatalf("a physical machine without identity refused at collection: %v", err)
	}
	// With the host network (--network host) it sees the host's NICs: collected.
	withNet := t.TempDir()
	if err := apply(dockerOnServer, rootless, func(m *machine) { m.NICs = rackServer.clone().NICs }).write(withNet); err != nil {
		t.Fatal(err)
	}
	if _, err := Collect(Options{Root: withNet}); err != nil {
		t.Fatalf("container on the host network refused: %v", err)
	}
}

// The customer is hostile: the platform is self-reported, and which
// components can be read is up to whoever runs the collector.
func TestVMAttacks(t *testing.T) {
	fakeVM := func(m *machine) { m.DMI["sys_vendor"], m.Hypervisor = "QEMU", true }
	tests := []struct {
		name          string
		enrolled, now machine
		why           string
	}{
		// A fake sysfs tree claims a physical server is a VM to get the VM
		// rule: another unit of the same model, making the same claim, is
		// still a new device (its UUID and serials decide).
		{"physical machine claiming to be a VM, another unit", apply(rackServer, fakeVM), apply(rackServer, sameModelOtherUnit, fakeVM), "board-serial changed"},
		// The copy of a VM runs its collector without root on purpose so its
		// new UUID cannot be compared, and copies the original's MAC and disk
		// serial into its configuration: disks and NICs alone are not enough.
		{"clone hides its UUID, copies MAC and disk serial", apply(proxmoxVM, func(m *machine) { m.Disks[0].Serial = "PVE-DATA-0001" }),
			apply(proxmoxVM, func(m *machine) { m.Disks[0].Serial = "PVE-DATA-0001" }, vmCopy("0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f", "", "", ""), nonRoot), "system-uuid was read at activation but cannot be read now"},
		// A GCE sibling reusing the original's internal IP (same 42:01 MAC)
		// and boot disk name, without root: the pseudo-identifiers are gone.
		{"gce sibling with a reused IP, not root", apply(gceN2, nonRoot), apply(gceN2, vmCopy("7c2e4a6b-8d0f-1a3c-5e7a-9b1d3f5a7c9e", "", "", ""), nonRoot), "too little hardware identity"},
		// A second container host of the same model, with every container
		// marker, is another device: the container's own values never count.
		{"container on another host, same container image and name", dockerOnServer, apply(dockerOnServer, sameModelOtherUnit, func(m *machine) {
			m.NICs = []nic{{Name: "eth0", MAC: "02:42:ac:11:00:02", Virtual: true, AssignType: 3}}
			m.Hostname, m.MachineID = dockerOnServer.Hostname, dockerOnServer.MachineID
		}), "board-serial changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := collectMachine(t, tc.enrolled)
			if wantVM := tc.name != "container on another host, same container image and name"; fingerprint.IsVM(fingerprint.PlatformOf(e)) != wantVM {
				t.Fatalf("platform %q: the attack should get the VM rule: %v", fingerprint.PlatformOf(e), wantVM)
			}
			r := fingerprint.Match(e, collectMachine(t, tc.now), fingerprint.PolicyFor(e))
			if r.Same || !containsAny(r.Reason(), tc.why) {
				t.Errorf("same device = %v, want false because %q\n%s", r.Same, tc.why, r.String())
			}
		})
	}
}
