package machine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/seatkey/seatkey/fingerprint"
)

// ErrNoHostIdentity is returned by Collect in a container that can see no
// identity of the host it runs on: an activation made there would fit every
// container anywhere. The error says which mounts or privileges give the
// container its host's identity.
var ErrNoHostIdentity = errors.New("this container sees no hardware identity of its host")

// setPlatform records what kind of machine the profile was read on (SPEC.md
// §9.1, component platform) and refuses a container that sees nothing of its
// host's identity. Everything is read under root, so a fixture tree can
// stand in for any platform.
func setPlatform(p *fingerprint.Profile, root string) error {
	v := detectPlatform(root)
	p.Set(fingerprint.Platform, v)
	if !strings.HasPrefix(v, fingerprint.PlatformContainerPrefix) {
		return nil
	}
	for _, c := range []fingerprint.Component{fingerprint.SystemUUID, fingerprint.BoardSerial, fingerprint.SystemSerial, fingerprint.TPMEK, fingerprint.Disks, fingerprint.NICs} {
		if len(p.Values[c]) > 0 {
			return nil
		}
	}
	return fmt.Errorf("%w (%s): a container is licensed to its host; give it the host's identity "+
		"by running it as root with the host's /sys/class/dmi/id readable (mount it read-only, e.g. "+
		"docker run -v /sys/class/dmi/id:/sys/class/dmi/id:ro; rootless and user-namespaced containers cannot read product_uuid), "+
		"or pass the host's TPM (--device /dev/tpmrm0), or use the host's network (--network host)", ErrNoHostIdentity, v)
}

// detectPlatform returns the platform value for the machine under root:
// "physical", "vm:<platform>", or "container:" followed by the host's value.
func detectPlatform(root string) string {
	if root == "" {
		if runtime.GOOS != "linux" {
			// The files below are Linux's. Elsewhere the platform is absent
			// (and the default policy applies) until that OS's collector
			// feeds classifyHost its own SMBIOS tables.
			return ""
		}
		root = "/" // this machine; never paths relative to the working directory
	}
	host := hostPlatform(root)
	if inContainer(root) {
		return fingerprint.PlatformContainerPrefix + host
	}
	return host
}

// readTrim reads a small file under root; a file that cannot be read is "".
func readTrim(root, path string) string {
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil || len(b) > 1<<16 {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// azureAssetTag is the chassis asset tag of every Azure VM (cloud-init
// DataSourceAzure, AZURE_CHASSIS_ASSET_TAG); plain Hyper-V has none.
const azureAssetTag = "7783-7084-3265-9085-8269-3286-77"

// vendorRules map DMI strings to a VM platform. A rule matches when one of
// product_name, sys_vendor, board_vendor, bios_vendor or product_version
// begins with one of its prefixes (as systemd's detect-virt reads them,
// src/basic/virt.c dmi_vendor_table), in this order.
var vendorRules = []struct {
	platform string
	prefixes []string
}{
	{"gce", []string{"Google Compute Engine"}},             // product_name; sys_vendor "Google" is also every Chromebook's
	{"alibaba", []string{"Alibaba Cloud"}},                 // sys_vendor "Alibaba Cloud", product_name "Alibaba Cloud ECS"
	{"digitalocean", []string{"DigitalOcean"}},             // sys_vendor "DigitalOcean", product_name "Droplet"
	{"hetzner", []string{"Hetzner"}},                       // sys_vendor "Hetzner", product_name "vServer"
	{"openstack", []string{"OpenStack"}},                   // product_name "OpenStack Nova" / "OpenStack Compute", sys_vendor "OpenStack Foundation"
	{"vmware", []string{"VMware", "VMW"}},                  // "VMware, Inc.", "VMware Virtual Platform", "VMW201" (KB 1009458)
	{"virtualbox", []string{"innotek GmbH", "VirtualBox"}}, // sys_vendor "innotek GmbH", product_name "VirtualBox"
	{"parallels", []string{"Parallels"}},                   // "Parallels Software International Inc.", "Parallels Virtual Platform"
	{"bhyve", []string{"BHYVE"}},                           // FreeBSD bhyve
	{"apple", []string{"Apple Virtualization"}},            // macOS Virtualization.framework guests
	{"xen", []string{"Xen"}},                               // sys_vendor "Xen", product_name "HVM domU"
	{"kvm", []string{"QEMU", "KVM", "Bochs", "KubeVirt", "Proxmox"}},
}

// platformFacts are what platform detection reads: the SMBIOS strings
// (Linux: /sys/class/dmi/id; Windows: Win32_ComputerSystem, Win32_BIOS,
// Win32_BaseBoard, Win32_SystemEnclosure), the processor's hypervisor bit
// and, for a Xen PV guest without SMBIOS, the hypervisor's type.
type platformFacts struct {
	SysVendor, ProductName, ProductVersion string
	BoardVendor, BIOSVendor, BIOSVersion   string
	ChassisAssetTag                        string
	Hypervisor                             bool   // CPUID leaf 1, ECX bit 31
	HypervisorType                         string // /sys/hypervisor/type
}

// hostPlatform reads the facts under root.
func hostPlatform(root string) string {
	dmi := func(k string) string { return readTrim(root, "sys/class/dmi/id/"+k) }
	return classifyHost(platformFacts{
		SysVendor: dmi("sys_vendor"), ProductName: dmi("product_name"), ProductVersion: dmi("product_version"),
		BoardVendor: dmi("board_vendor"), BIOSVendor: dmi("bios_vendor"), BIOSVersion: dmi("bios_version"),
		ChassisAssetTag: dmi("chassis_asset_tag"),
		Hypervisor:      cpuHypervisorFlag(root),
		HypervisorType:  readTrim(root, "sys/hypervisor/type"),
	})
}

// classifyHost tells a physical machine from a VM and names the VM's
// platform (SPEC.md §9.1.1, rules 1 to 7, in order). It reads no files, so
// a collector for another OS can feed it that OS's SMBIOS tables.
func classifyHost(f platformFacts) string {
	// AWS: "Amazon EC2" on Nitro, "Xen" with version "4.11.amazon" on the
	// Xen generation (AWS docs "Identify EC2 Linux instances"). Bare-metal
	// instances (product_name "m5.metal") are physical machines, and show
	// no hypervisor flag (systemd virt.c detect_vm_dmi).
	if f.SysVendor == "Amazon EC2" || f.BIOSVendor == "Amazon EC2" || f.BoardVendor == "Amazon EC2" ||
		strings.HasSuffix(f.ProductVersion, ".amazon") || strings.HasSuffix(f.BIOSVersion, ".amazon") {
		if !f.Hypervisor && strings.Contains(f.ProductName, ".metal") {
			return fingerprint.PlatformPhysical
		}
		return fingerprint.PlatformVMPrefix + "aws"
	}
	switch f.ChassisAssetTag {
	case azureAssetTag:
		return fingerprint.PlatformVMPrefix + "azure"
	case "OracleCloud.com": // cloud-init DataSourceOracle: chassis_asset_tag of every OCI instance
		return fingerprint.PlatformVMPrefix + "oci"
	}
	// Hyper-V: "Microsoft Corporation" "Virtual Machine" (a Surface is also
	// "Microsoft Corporation", with its own product name); firmware version
	// "Hyper-V UEFI Release v4.1" on generation 2.
	if (f.SysVendor == "Microsoft Corporation" && f.ProductName == "Virtual Machine") ||
		strings.HasPrefix(f.ProductVersion, "Hyper-V") || strings.HasPrefix(f.BIOSVersion, "Hyper-V") {
		return fingerprint.PlatformVMPrefix + "hyperv"
	}
	fields := []string{f.ProductName, f.SysVendor, f.BoardVendor, f.BIOSVendor, f.ProductVersion}
	for _, r := range vendorRules {
		for _, v := range fields {
			for _, pre := range r.prefixes {
				if strings.HasPrefix(v, pre) {
					return fingerprint.PlatformVMPrefix + r.platform
				}
			}
		}
	}
	// A Xen PV guest has no DMI at all (systemd virt.c detect_vm_hypervisor).
	if f.HypervisorType == "xen" {
		return fingerprint.PlatformVMPrefix + "xen"
	}
	if f.Hypervisor {
		return fingerprint.PlatformVMPrefix + "other"
	}
	return fingerprint.PlatformPhysical
}

// cpuHypervisorFlag reports whether the processor says it runs under a
// hypervisor: CPUID leaf 1, ECX bit 31, shown as the "hypervisor" flag of
// /proc/cpuinfo (arch/x86/include/asm/cpufeatures.h X86_FEATURE_HYPERVISOR).
func cpuHypervisorFlag(root string) bool {
	b, err := os.ReadFile(filepath.Join(root, "proc/cpuinfo"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			if f == "hypervisor" {
				return true
			}
		}
		return false // every processor shows the same flags
	}
	return false
}

// cgroupMarkers are what container runtimes put in the cgroup path of a
// container's processes (cgroup v1, and v2 without a cgroup namespace).
var cgroupMarkers = []string{"/docker", "/kubepods", "/lxc", "/libpod", "/containerd", "/crio-", "cri-containerd", "/garden", "/ecs/", "/actions_job"}

// inContainer reports whether root is seen from inside a container: the
// runtimes' marker files, init's cgroup or environment, or a network of
// virtual interfaces only (a veth pair and no device of its own).
func inContainer(root string) bool {
	for _, marker := range []string{
		".dockerenv",            // Docker writes it in every container's root
		"run/.containerenv",     // Podman (containers/common pkg/config: containerenv)
		"run/systemd/container", // systemd-nspawn and others (systemd virt.c detect_container)
	} {
		if _, err := os.Lstat(filepath.Join(root, marker)); err == nil {
			return true
		}
	}
	cg := readTrim(root, "proc/1/cgroup")
	for _, m := range cgroupMarkers {
		if strings.Contains(cg, m) {
			return true
		}
	}
	// systemd's container interface: the manager sets container=<name> in
	// init's environment (https://systemd.io/CONTAINER_INTERFACE/).
	if env, err := os.ReadFile(filepath.Join(root, "proc/1/environ")); err == nil {
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("container=")); ok && len(v) > 0 {
				return true
			}
		}
	}
	return vethOnly(root)
}

// vethOnly reports whether every network interface but the loopback is
// virtual (and there is at least one): what a container in its own network
// namespace sees. A physical machine or a VM has a NIC on a bus.
func vethOnly(root string) bool {
	dir := filepath.Join(root, "sys/class/net")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	n := 0
	for _, e := range entries {
		if e.Name() == "lo" || e.Name() == "bonding_masters" {
			continue
		}
		dest, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil || !strings.Contains(dest, "devices/virtual/net") {
			return false
		}
		n++
	}
	return n > 0
}
