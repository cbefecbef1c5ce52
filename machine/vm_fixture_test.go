package machine

// Virtual machines and containers as Linux shows them from inside, built from
// the values each platform publishes or documents (sources beside each
// value). Serials, UUIDs and MACs are invented in the platform's own format;
// model strings are the platform's.
var (
	// An EC2 m5.large on the Nitro hypervisor.
	awsM5 = machine{
		// m5 runs on Skylake (8175M) or Cascade Lake (8259CL) hosts (AWS
		// "Amazon EC2 M5 Instances" page: "up to 3.1 GHz Intel Xeon Platinum 8175M or 8259CL").
		CPUVendor: "GenuineIntel", CPUModel: "Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", Microcode: "0x2007006", Sockets: 1, Cores: 2,
		Hypervisor: true,
		DMI: map[string]string{
			// sys_vendor, bios_vendor and board_vendor "Amazon EC2" (systemd
			// src/basic/virt.c dmi_vendor_table; AWS docs "Identify EC2
			// Linux instances"); product_name is the instance type and
			// board_asset_tag the instance ID (both world-readable).
			"sys_vendor": "Amazon EC2", "product_name": "m5.large", "board_vendor": "Amazon EC2", "board_asset_tag": "i-0a1b2c3d4e5f60718",
			// The system UUID of an instance starts with "ec2" (AWS docs,
			// same page); product_serial repeats it in lower case.
			"product_uuid": "EC2F4A6B-3C1D-8E2F-9A0B-1C2D3E4F5A6B", "product_serial": "ec2f4a6b-3c1d-8e2f-9a0b-1c2d3e4f5a6b",
			"bios_vendor": "Amazon EC2", "bios_version": "1.0", "bios_date": "10/16/2017",
			"chassis_vendor": "Amazon EC2", "chassis_asset_tag": "Amazon EC2",
		},
		MemGiB: 8,
		// An EBS volume attached over NVMe has the model "Amazon Elastic
		// Block Store" and its volume ID, without the dash, as serial (AWS
		// docs "Amazon EBS and NVMe"; amazon-ec2-utils ebsnvme-id).
		Disks: []disk{{Name: "nvme0n1", Dev: "259:0", Serial: "vol0a1b2c3d4e5f60718", Model: "Amazon Elastic Block Store"}},
		// ENA: a MAC the ENI keeps for its life, locally administered.
		NICs:     []nic{{Name: "ens5", MAC: "0a:3f:5c:11:7e:21", PCI: "0000:00:05.0"}},
		Hostname: "ip-172-31-20-15", MachineID: "ec2a5b6c7d8e9f00112233445566778a",
	}

	// An Azure Standard_D2s_v3, generation 2.
	azureD2 = machine{
		// Dv3 runs on Broadwell, Skylake, Cascade Lake (8272CL) or Ice Lake
		// (8370C) hosts (Azure docs "Dv3 and Dsv3-series").
		CPUVendor: "GenuineIntel", CPUModel: "Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz", Microcode: "0xffffffff", Sockets: 1, Cores: 2,
		Hypervisor: true,
		DMI: map[string]string{
			// Hyper-V's "Microsoft Corporation" "Virtual Machine" (systemd
			// virt.c) with the chassis asset tag every Azure VM has
			// (cloud-init DataSourceAzure AZURE_CHASSIS_ASSET_TAG).
			"sys_vendor": "Microsoft Corporation", "product_name": "Virtual Machine", "product_version": "7.0",
			"chassis_vendor": "Microsoft Corporation", "chassis_asset_tag": "7783-7084-3265-9085-8269-3286-77",
			"board_vendor": "Microsoft Corporation", "board_name": "Virtual Machine",
			// Hyper-V serials: digits in groups of four, one per VM; the
			// system UUID is the VM's vmId with its first three fields
			// byte-swapped (cloud-init azure byte_swap_system_uuid).
			"product_serial": "0000-0002-6531-8732-7195-5127-19", "board_serial": "0000-0015-3761-0947-0474-6451-21",
			"product_uuid": "1e6a2c8f-7d4b-3e4c-9a5f-2d1e0b7c6a94",
			"bios_vendor":  "Microsoft Corporation", "bios_version": "Hyper-V UEFI Release v4.1", "bios_date": "04/06/2022",
		},
		MemGiB: 8,
		Disks: []disk{
			// storvsc disks: model "Virtual Disk", an NAA identifier per
			// VHD (by-id/wwn-0x60022480...). sdb is the temporary resource
			// disk, which a redeploy replaces (Azure docs "Temporary disk").
			{Name: "sda", Dev: "8:0", WWN: "0x60022480c1d2e3f4a5b6c7d8e9f0a1b2", Model: "Virtual Disk"},
			{Name: "sdb", Dev: "8:16", WWN: "0x600224803a7f1e2d4c5b6a7988796a5b", Model: "Virtual Disk"},
		},
		NICs: []nic{
			// hv_netvsc, and the accelerated-networking VF with the same MAC
			// (Azure docs "Accelerated Networking how it works"). Azure MACs
			// use Microsoft's 00:0d:3a OUI and stay with the NIC resource.
			{Name: "eth0", MAC: "00:0d:3a:4e:7b:21", PCI: "0000:00:08.0"},
			{Name: "enP30832s1", MAC: "00:0d:3a:4e:7b:21", PCI: "7870:00:02.0"},
		},
		Hostname: "app-vm-01", MachineID: "a2f0c4e6b8d0f2e4a6c8e0b2d4f6a8c0",
	}

	// A GCE n2-standard-2.
	gceN2 = machine{
		// GCE shows a generic model name with the host's base clock:
		// Cascade Lake "@ 2.80GHz", Ice Lake "@ 2.60GHz" (GCE docs "CPU platforms").
		CPUVendor: "GenuineIntel", CPUModel: "Intel(R) Xeon(R) CPU @ 2.80GHz", Microcode: "0xffffffff", Sockets: 1, Cores: 2,
		Hypervisor: true,
		DMI: map[string]string{
			// "Google" / "Google Compute Engine" (systemd virt.c; GCE docs
			// "Detect if a VM is running in Compute Engine"); serials are
			// per instance, "GoogleCloud-" and the instance's UUID in hex.
			"sys_vendor": "Google", "product_name": "Google Compute Engine",
			"product_uuid":   "3a9e1c52-7b4d-0f16-8e2a-5c7d9b1f4e63",
			"product_serial": "GoogleCloud-3A9E1C527B4D0F168E2A5C7D9B1F4E63",
			"board_vendor":   "Google", "board_name": "Google Compute Engine", "board_serial": "Board-GoogleCloud-3A9E1C527B4D0F168E2A5C7D9B1F4E63",
			"bios_vendor": "Google", "bios_version": "Google", "bios_date": "06/07/2024", "chassis_vendor": "Google",
		},
		MemGiB: 8,
		// The boot disk's device name defaults to "persistent-disk-0", and
		// a PD's serial is its device name (GCE docs "Disk device names";
		// by-id/scsi-0Google_PersistentDisk_persistent-disk-0).
		Disks: []disk{{Name: "sda", Dev: "8:0", Serial: "persistent-disk-0", Model: "PersistentDisk"}},
		// 42:01 and the internal IP 10.128.0.5 (GCE VPC MACs).
		NICs:     []nic{{Name: "ens4", MAC: "42:01:0a:80:00:05", PCI: "0000:00:04.0"}},
		Hostname: "instance-1", MachineID: "9c1e3a5b7d9f1b3d5f7a9c1e3b5d7f9a",
	}

	// A vSphere VM, hardware version 19, EFI.
	vmwareVM = machine{
		CPUVendor: "GenuineIntel", CPUModel: "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", Microcode: "0x5003604", Sockets: 1, Cores: 2,
		Hypervisor: true,
		DMI: map[string]string{
			// "VMware, Inc." and product "VMware7,1" (systemd virt.c; VMware
			// KB 1009458). The serial is "VMware-" and the BIOS UUID's 16
			// bytes in hex (KB 1009458): derived from the UUID, so a copy
			// with a new UUID has a new serial too.
			"sys_vendor": "VMware, Inc.", "product_name": "VMware7,1",
			"product_uuid":   "5f3e1d42-7b6a-9d8c-0e1f-2a3b4c5d6e7f",
			"product_serial": "VMware-42 1d 3e 5f 6a 7b 8c 9d-0e 1f 2a 3b 4c 5d 6e 7f",
			// The emulated 440BX board with serial "None".
			"board_vendor": "Intel Corporation", "board_name": "440BX Desktop Reference Platform", "board_serial": "None",
			"bios_vendor": "VMware, Inc.", "bios_version": "VMW71.00V.21100432.B64.2301110304", "bios_date": "01/11/2023",
		},
		MemGiB: 16,
		// "Virtual disk" without a serial (disk.EnableUUID unset, the default).
		Disks: []disk{{Name: "sda", Dev: "8:0", Model: "Virtual disk"}},
		// vmxnet3 with a vCenter-assigned MAC in 00:50:56:80-bf (VMware docs "MAC Address Assignment from vCenter Server").
		NICs:     []nic{{Name: "ens192", MAC: "00:50:56:9a:4b:21", PCI: "0000:0b:00.0"}},
		Hostname: "erp-app-02", Domain: "corp.example.com", MachineID: "4d2b6f8a0c2e4a6c8e0a2c4e6a8c0e2a",
	}

	// A Hyper-V generation 2 VM on a Windows Server failover cluster.
	hypervVM = machine{
		CPUVendor: "GenuineIntel", CPUModel: "Intel(R) Xeon(R) Silver 4214R CPU @ 2.40GHz", Microcode: "0xffffffff", Sockets: 1, Cores: 4,
		Hypervisor: true,
		DMI: map[string]string{
			// As on Azure, without Azure's chassis asset tag (systemd virt.c "Hyper-V").
			"sys_vendor": "Microsoft Corporation", "product_name": "Virtual Machine", "product_version": "Hyper-V UEFI Release v4.1",
			"board_vendor": "Microsoft Corporation", "board_name": "Virtual Machine",
			"product_serial": "5179-7623-2218-4032-4937-1386-37", "board_serial": "2736-9915-6024-5470-8212-6541-07",
			"product_uuid": "c7a2d3e4-5f61-4a7b-8c9d-0e1f2a3b4c5d",
			"bios_vendor":  "Microsoft Corporation", "bios_version": "Hyper-V UEFI Release v4.1", "bios_date": "04/06/2022",
			"chassis_vendor": "Microsoft Corporation",
		},
		MemGiB: 16,
		Disks:  []disk{{Name: "sda", Dev: "8:0", WWN: "0x600224807b3c1d2e4f5a6b7c8d9e0f1a", Model: "Virtual Disk"}},
		// A dynamic MAC from the host's pool: 00:15:5d, then two bytes of
		// the host's IP address (Microsoft docs "Hyper-V dynamic MAC
		// address range"), so it changes when the VM starts on another node.
		NICs:     []nic{{Name: "eth0", MAC: "00:15:5d:0a:1e:07", PCI: "0000:00:08.0"}},
		Hostname: "sql-02", Domain: "corp.example.com", MachineID: "7e9a1c3e5a7c9e1a3c5e7a9c1e3a5c7e",
	}

	// A Proxmox VE 8 VM (QEMU/KVM, i440fx, cpu=host).
	proxmoxVM = machine{
		CPUVendor: "AuthenticAMD", CPUModel: "AMD EPYC 7543P 32-Core Processor", Microcode: "0x1000065", Sockets: 1, Cores: 2,
		Hypervisor: true,
		DMI: map[string]string{
			// QEMU's machine type name (hw/i386/pc_piix.c) and SeaBIOS's
			// version string; Proxmox sets the SMBIOS UUID from the VM's
			// smbios1: uuid= and leaves the serial empty (qm.conf(5)).
			"sys_vendor": "QEMU", "product_name": "Standard PC (i440FX + PIIX, 1996)", "product_version": "pc-i440fx-8.1",
			"product_uuid": "b3f1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "product_serial": "",
			"bios_vendor": "SeaBIOS", "bios_version": "rel-1.16.2-0-gea1b7a073390-prebuilt.qemu.org", "bios_date": "04/01/2014",
			"chassis_vendor": "QEMU",
		},
		MemGiB: 8,
		// A virtio-scsi disk without serial=: its identifier is the drive's
		// name (QEMU hw/scsi/scsi-disk.c), "drive-scsi0" on every Proxmox VM.
		Disks: []disk{{Name: "sda", Dev: "8:0", Serial: "drive-scsi0", Model: "QEMU HARDDISK"}},
		// Proxmox VE 8 generates MACs under its own OUI bc:24:11 (Proxmox VE 8.1 release notes).
		NICs:     []nic{{Name: "ens18", MAC: "bc:24:11:5e:7a:01", PCI: "0000:00:12.0"}},
		Hostname: "gitlab-runner", MachineID: "1f3b5d7f9b1d3f5b7d9f1b3d5f7b9d1f",
	}

	// A VirtualBox 7 VM.
	virtualboxVM = machine{
		CPUVendor: "GenuineIntel", CPUModel: "Intel(R) Core(TM) i7-10750H CPU @ 2.60GHz", Microcode: "0xffffffff", Sockets: 1, Cores: 2,
		Hypervisor: true,
		DMI: map[string]string{
			// VirtualBox's DMI defaults (DevFwCommon.cpp; systemd virt.c
			// "innotek GmbH", "Oracle Corporation"): serials "0".
			"sys_vendor": "innotek GmbH", "product_name": "VirtualBox", "product_version": "1.2", "product_serial": "0",
			"product_uuid": "d2a1e8f4-7c3b-4f5a-9e0d-1b2c3d4e5f60",
			"board_vendor": "Oracle Corporation", "board_name": "VirtualBox", "board_serial": "0",
			"bios_vendor": "innotek GmbH", "bios_version": "VirtualBox", "bios_date": "12/01/2006",
			"chassis_vendor": "Oracle Corporation",
		},
		MemGiB: 4,
		// "VBOX HARDDISK" with a serial made from the medium's UUID, one per disk image.
		Disks: []disk{{Name: "sda", Dev: "8:0", Serial: "VB2c1a9b3e-7d4f2a10", Model: "VBOX HARDDISK", Rotational: true}},
		// VirtualBox's OUI 08:00:27.
		NICs:     []nic{{Name: "enp0s3", MAC: "08:00:27:5f:3a:c1", PCI: "0000:00:03.0"}},
		Hostname: "dev-box", MachineID: "5a7c9e1a3c5e7a9c1e3a5c7e9a1c3e5a",
	}

	// A Docker container on the rack server of fixture_test.go: the host's
	// /proc and /sys/class/dmi/id (Docker masks neither), the host's block
	// devices without the udev database, its own network namespace with one
	// veth whose MAC comes from its IP (moby GenerateMACFromIP), a
	// container-ID host name, no machine ID, and /.dockerenv.
	dockerOnServer = func() machine {
		m := rackServer.clone()
		for i := range m.Disks {
			m.Disks[i].Serial, m.Disks[i].WWN = "", ""
		}
		m.NICs = []nic{{Name: "eth0", MAC: "02:42:ac:11:00:02", Virtual: true, AssignType: 3}}
		m.Hostname, m.MachineID = "3f4e5a6b7c8d", ""
		// cgroup v2 with a cgroup namespace shows "0::/": /.dockerenv tells.
		m.Files = map[string]string{".dockerenv": "", "proc/1/cgroup": "0::/"}
		return m
	}()
)

var vmMachines = map[string]machine{
	"aws": awsM5, "azure": azureD2, "gce": gceN2, "vmware": vmwareVM, "hyperv": hypervVM,
	"proxmox": proxmoxVM, "virtualbox": virtualboxVM, "docker": dockerOnServer,
}
