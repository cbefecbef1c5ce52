package fingerprint

import "testing"

// Pseudo-identifiers read as absent; real identifiers of the same platforms
// (the values a clone does not share) are kept.
func TestPseudoIdentifiers(t *testing.T) {
	tests := []struct {
		c      Component
		in     string
		absent bool
	}{
		{Disks, "persistent-disk-0", true},
		{Disks, "sn:PERSISTENT-DISK-12", true},
		{Disks, "persistent-disk-boot", false}, // a device name someone chose: not the default form
		{Disks, "sn:DRIVE-SCSI0", true},
		{Disks, "drive-virtio-disk0", true},
		{Disks, "0QEMU_QEMU_HARDDISK_drive-scsi1", true},
		{Disks, "QM00001", true},
		{Disks, "sn:QM00003", true},
		{Disks, "QM0001", false},
		{Disks, "QEMU HARDDISK", true},
		{Disks, "VBOX HARDDISK", true},
		{Disks, "sn:0", true},
		{Disks, "sn:VB2C1A9B3E-7D4F2A10", false},                 // VirtualBox: from the medium's UUID, one per disk image
		{Disks, "sn:VOL0A1B2C3D4E5F60718", false},                // EBS volume ID
		{Disks, "wwn:0x6000c2912a3b4c5d6e7f8091a2b3c4d5", false}, // VMware disk.EnableUUID
		{Disks, "Google_PersistentDisk_persistent-disk-0", true},
		{SystemSerial, "0", true},
		{BoardSerial, "0", true},
		{SystemSerial, "VMware-42 1d 3e 5f 6a 7b 8c 9d-0e 1f 2a 3b 4c 5d 6e 7f", false},
		{SystemUUID, "03000200-0400-0500-0006-000700080009", true},
		{SystemUUID, "ec2e1916-9099-7caf-fd21-0123456789ab", false},
		{NICs, "42:01:0a:80:00:02", true},
		{NICs, "02:42:ac:11:00:02", true},
		{NICs, "52:54:00:12:34:56", true},
		{NICs, "52:54:00:9a:3c:71", false},
		{NICs, "00:0d:3a:5b:1c:2e", false},
		{CPU, "0", false}, // model values are not identities
	}
	for _, tc := range tests {
		if got := Normalize(tc.c, tc.in) == ""; got != tc.absent {
			t.Errorf("Normalize(%s, %q) absent = %v, want %v", tc.c, tc.in, got, tc.absent)
		}
	}
}

func TestPlatformValues(t *testing.T) {
	for _, v := range Platforms() {
		if Normalize(Platform, v) != v {
			t.Errorf("%q does not normalise to itself", v)
		}
	}
	for in, want := range map[string]string{"VM:AWS": "vm:aws", " physical ": "physical", "vm:made-up": "", "container": "", "container:container:physical": ""} {
		if got := Normalize(Platform, in); got != want {
			t.Errorf("Normalize(platform, %q) = %q, want %q", in, got, want)
		}
	}
	for v, vm := range map[string]bool{"vm:gce": true, "container:vm:aws": true, "container:physical": false, "physical": false, "": false} {
		if IsVM(v) != vm {
			t.Errorf("IsVM(%q) = %v", v, !vm)
		}
	}
}
