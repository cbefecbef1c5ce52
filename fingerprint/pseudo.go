package fingerprint

import "strings"

// Pseudo-identifiers are values that look like serials or addresses but that
// a platform generates from something shared or guessable: a drive's name in
// the VM's configuration, its slot number, an IP address, a model name.
// Every VM made from one image or template has them, so they identify
// nothing and are treated as absent (SPEC.md §9.2). Sources are cited beside
// each rule.

// pseudo reports whether v (white space already folded) is a
// pseudo-identifier for component c.
func pseudo(c Component, v string) bool {
	l := strings.ToLower(v)
	switch c {
	case BoardSerial, SystemSerial:
		// VirtualBox writes "0" as the system and board serial of every VM
		// (VirtualBox DevPcBios/DevFwCommon.cpp, DmiSystemSerial and
		// DmiBoardSerial default "0"); no firmware serial is one character.
		return len(l) == 1
	case SystemUUID:
		return sharedUUIDs[l]
	case Disks:
		return pseudoDisk(l)
	case NICs:
		return pseudoMAC(l)
	}
	return false
}

// sharedUUIDs are SMBIOS UUIDs that firmware ships on many machines.
var sharedUUIDs = map[string]bool{
	// The AMI Aptio default UUID, left unset by many board makers (seen on
	// Supermicro, Gigabyte and unbranded X99 boards; dmidecode reports
	// collected by linux-hardware.org show it on thousands of machines).
	"03000200-0400-0500-0006-000700080009": true,
}

// virtualDiskModels are model strings udev falls back to as a serial when a
// virtual disk has none of its own.
var virtualDiskModels = map[string]bool{
	"qemu harddisk": true, "qemu_harddisk": true, // QEMU hw/ide/core.c and hw/scsi/scsi-disk.c model names
	"vbox harddisk": true, "vbox_harddisk": true, // VirtualBox DevAHCI/DevATA model name
	"vmware virtual disk": true, "vmware_virtual_disk": true, "vmware virtual s": true, // VMware pvscsi/LSI model names
	"virtual disk": true, "virtual_disk": true, "msft virtual disk": true, // Hyper-V storvsc model name
	"persistentdisk": true, "google persistentdisk": true, // GCE PD model name
}

// udevSerialPrefixes are the vendor and model that udev's ID_SERIAL puts in
// front of a virtual disk's serial ("0QEMU_QEMU_HARDDISK_drive-scsi0"); the
// rest decides.
var udevSerialPrefixes = []string{"0qemu_qemu_harddisk_", "qemu_harddisk_", "google_persistentdisk_", "0google_persistentdisk_"}

func pseudoDisk(l string) bool {
	if s, ok := strings.CutPrefix(l, "wwn:"); ok {
		l = s
	} else if s, ok := strings.CutPrefix(l, "sn:"); ok {
		l = s
	}
	for _, p := range udevSerialPrefixes {
		if s, ok := strings.CutPrefix(l, p); ok {
			if s == "" {
				return true
			}
			l = s
		}
	}
	switch {
	case len(l) == 1, virtualDiskModels[l]:
		return true
	case digitsAfter(l, "persistent-disk-", 1):
		// GCE gives a disk attached without a device name the name
		// "persistent-disk-N" (N = attachment index), and a PD's SCSI and
		// NVMe serial is its device name: every boot disk is
		// "persistent-disk-0" (GCE docs "Disk device names"; guest-configs
		// google_nvme_id and 65-gce-disk-naming.rules).
		return true
	case strings.HasPrefix(l, "drive-"):
		// QEMU's SCSI disk without serial= reports its block backend's name
		// in VPD page 0x83 (hw/scsi/scsi-disk.c); Proxmox names backends
		// "drive-scsi0", "drive-virtio0", "drive-sata0", libvirt
		// "drive-scsi0-0-0-0", "drive-virtio-disk0".
		return true
	case digitsAfter(l, "qm", 5) && len(l) == 7:
		// QEMU's IDE/SATA default serial "QM%05d", numbered by the drive's
		// position (hw/ide/core.c): "QM00001" on every such VM.
		return true
	}
	return false
}

// digitsAfter reports whether s is prefix followed by at least n digits and nothing else.
func digitsAfter(s, prefix string, n int) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) < n {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// pseudoMAC reports MAC addresses derived from an IP address or a slot
// number rather than assigned to one interface.
func pseudoMAC(l string) bool {
	switch {
	case strings.HasPrefix(l, "42:01:"):
		// GCE: 42:01 followed by the interface's internal IPv4 address, so a
		// new instance given a reused IP has the old instance's MAC.
		return true
	case strings.HasPrefix(l, "02:42:"):
		// Docker: 02:42 followed by the container's IPv4 address (moby
		// libnetwork/netutils GenerateMACFromIP).
		return true
	case strings.HasPrefix(l, "52:54:00:12:34:"):
		// QEMU's default MAC when none is configured: 52:54:00:12:34:56 plus
		// the NIC's index (net/net.c qemu_macaddr_default_if_unset).
		return true
	}
	return false
}
