package fingerprint

import (
	"slices"
	"strings"
)

// The values of the platform component (SPEC.md §9.1): what kind of machine
// a fingerprint was read on. The set is closed, so that a fingerprint, which
// carries only digests, still tells which kind it came from (see PolicyFor);
// a value outside it is absent.
const (
	PlatformPhysical = "physical"
	// PlatformVMPrefix starts the value of a virtual machine: "vm:aws",
	// "vm:azure", "vm:gce", "vm:oci", "vm:alibaba", "vm:digitalocean",
	// "vm:hetzner", "vm:openstack", "vm:vmware", "vm:hyperv", "vm:kvm",
	// "vm:xen", "vm:virtualbox", "vm:parallels", "vm:bhyve", "vm:apple", and
	// "vm:other" for a hypervisor nobody names.
	PlatformVMPrefix = "vm:"
	// PlatformContainerPrefix starts the value of a container, followed by
	// its host's value: "container:physical", "container:vm:aws".
	PlatformContainerPrefix = "container:"
)

// vmPlatforms are the hypervisors and clouds a VM can name.
var vmPlatforms = []string{
	"aws", "azure", "gce", "oci", "alibaba", "digitalocean", "hetzner", "openstack",
	"vmware", "hyperv", "kvm", "xen", "virtualbox", "parallels", "bhyve", "apple", "other",
}

// platforms is the closed set of platform values.
var platforms = func() map[string]bool {
	m := map[string]bool{PlatformPhysical: true, PlatformContainerPrefix + PlatformPhysical: true}
	for _, v := range vmPlatforms {
		m[PlatformVMPrefix+v] = true
		m[PlatformContainerPrefix+PlatformVMPrefix+v] = true
	}
	return m
}()

// Platforms lists every platform value, sorted.
func Platforms() []string {
	out := make([]string, 0, len(platforms))
	for v := range platforms {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// IsVM reports whether a platform value names a virtual machine, directly or
// as the host of a container: the machine whose identity counts is a VM.
func IsVM(platform string) bool {
	return strings.HasPrefix(strings.TrimPrefix(platform, PlatformContainerPrefix), PlatformVMPrefix)
}
