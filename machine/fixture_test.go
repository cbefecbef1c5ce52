package machine

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaypipes/ghw/pkg/snapshot"

	"github.com/seatkey/seatkey/fingerprint"
)

var updateFixtures = flag.Bool("update-fixtures", false, "rewrite testdata/hw from the machine descriptions")

// machine describes a computer as the files Linux shows of it; write turns it
// into the sysfs, procfs, udev and /etc files ghw and Collect read.
type machine struct {
	CPUVendor, CPUModel, Microcode string
	Sockets, Cores                 int
	DMI                            map[string]string // /sys/class/dmi/id/<key>
	MemGiB                         int
	Disks                          []disk
	NICs                           []nic
	Hostname, Domain, MachineID    string
	Hypervisor                     bool              // the CPU's "hypervisor" flag (a VM)
	Files                          map[string]string // other files, by path under the root (/.dockerenv, proc/1/cgroup)
}

type disk struct {
	Name, Dev, Serial, WWN, Model string
	Removable, Rotational         bool
}

type nic struct {
	Name, MAC, PCI string
	Virtual        bool
	AssignType     int // 0 permanent, 1 random, 3 set by user space
}

func (m machine) clone() machine {
	c := m
	c.DMI = map[string]string{}
	for k, v := range m.DMI {
		c.DMI[k] = v
	}
	c.Disks = append([]disk(nil), m.Disks...)
	c.NICs = append([]nic(nil), m.NICs...)
	c.Files = map[string]string{}
	for k, v := range m.Files {
		c.Files[k] = v
	}
	return c
}

func (m machine) write(root string) error {
	files := map[string]string{}
	var cpuinfo strings.Builder
	lp := 0
	for s := 0; s < m.Sockets; s++ {
		for c := 0; c < m.Cores; c++ {
			fmt.Fprintf(&cpuinfo, "processor\t: %d\nvendor_id\t: %s\ncpu family\t: 6\nmodel\t\t: 106\nmodel name\t: %s\nstepping\t: 6\nmicrocode\t: %s\ncpu MHz\t\t: 2000.000\ncache size\t: 49152 KB\nphysical id\t: %d\nsiblings\t: %d\ncore id\t\t: %d\ncpu cores\t: %d\nflags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr sse sse2 ht avx avx2%s\n\n",
				lp, m.CPUVendor, m.CPUModel, m.Microcode, s, m.Cores, c, m.Cores, map[bool]string{true: " md_clear", false: ""}[m.Microcode > "0xd000300"]+map[bool]string{true: " hypervisor", false: ""}[m.Hypervisor])
			d := fmt.Sprintf("sys/devices/system/cpu/cpu%d/", lp)
			files[d+"topology/physical_package_id"] = fmt.Sprint(s)
			files[d+"topology/core_id"] = fmt.Sprint(c)
			if lp > 0 {
				files[d+"online"] = "1"
			}
			lp++
		}
	}
	files["proc/cpuinfo"] = cpuinfo.String()
	files["sys/devices/system/cpu/online"] = fmt.Sprintf("0-%d", lp-1)
	for k, v := range m.DMI {
		files["sys/class/dmi/id/"+k] = v
	}
	files["proc/meminfo"] = fmt.Sprintf("MemTotal:       %d kB\nMemFree:        %d kB\nHugepagesize:       2048 kB\n", m.MemGiB<<20-262144, m.MemGiB<<19)
	files["sys/devices/system/memory/block_size_bytes"] = "40000000" // 1 GiB blocks
	for i := 0; i < m.MemGiB; i++ {
		files[fmt.Sprintf("sys/devices/system/memory/memory%d/state", i)] = "online"
	}
	for _, d := range m.Disks {
		b := "sys/block/" + d.Name + "/"
		files[b+"dev"] = d.Dev
		files[b+"removable"] = map[bool]string{true: "1", false: "0"}[d.Removable]
		files[b+"size"] = "1875385008"
		files[b+"queue/rotational"] = map[bool]string{true: "1", false: "0"}[d.Rotational]
		files[b+"queue/physical_block_size"] = "4096"
		files[b+"queue/logical_block_size"] = "512"
		files[b+"device/vendor"] = "ATA"
		var u strings.Builder
		fmt.Fprintf(&u, "S:disk/by-id/%s\nE:ID_MODEL=%s\n", d.Name, strings.ReplaceAll(d.Model, " ", "_"))
		if d.Serial != "" {
			fmt.Fprintf(&u, "E:ID_SERIAL=%s_%s\nE:ID_SERIAL_SHORT=%s\n", strings.ReplaceAll(d.Model, " ", "_"), d.Serial, d.Serial)
		}
		if d.WWN != "" {
			fmt.Fprintf(&u, "E:ID_WWN=%s\nE:ID_WWN_WITH_EXTENSION=%s\n", d.WWN, d.WWN)
		}
		files["run/udev/data/b"+d.Dev] = u.String()
	}
	var links [][2]string
	for _, n := range m.NICs {
		dev := "sys/devices/pci0000:00/" + n.PCI + "/net/" + n.Name + "/"
		if n.Virtual {
			dev = "sys/devices/virtual/net/" + n.Name + "/"
		}
		files[dev+"address"] = n.MAC
		files[dev+"addr_assign_type"] = fmt.Sprint(n.AssignType)
		files[dev+"mtu"] = "1500"
		files[dev+"operstate"] = "up"
		links = append(links, [2]string{"sys/class/net/" + n.Name, "../../" + strings.TrimSuffix(dev[len("sys/"):], "/")})
	}
	if m.Hostname != "" {
		files["proc/sys/kernel/hostname"] = m.Hostname
		files["etc/hostname"] = m.Hostname
	}
	files["proc/sys/kernel/domainname"] = "(none)"
	if m.Domain != "" {
		files["etc/krb5.conf"] = "[libdefaults]\n    default_realm = " + strings.ToUpper(m.Domain) + "\n"
	}
	if m.MachineID != "" {
		files["etc/machine-id"] = m.MachineID
	}
	for k, v := range m.Files {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "_serial") || strings.HasSuffix(name, "product_uuid") {
			mode = 0o400 // as the kernel has them: root only
		}
		if err := os.WriteFile(p, []byte(content+"\n"), mode); err != nil {
			return err
		}
	}
	for _, l := range links {
		p := filepath.Join(root, l[0])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(l[1], p); err != nil {
			return err
		}
	}
	return nil
}

// The three base machines. Values are realistic, invented, and not anyone's.
var (
	rackServer = machine{
		CPUVendor: "GenuineIntel", CPUModel: "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", Microcode: "0xd000375", Sockets: 2, Cores: 4,
		DMI: map[string]string{
			"sys_vendor": "Dell Inc.", "product_name": "PowerEdge R750", "product_serial": "7XK2PL3",
			"product_uuid": "4c4c4544-0058-4b10-8032-b7c04f504c33", "board_vendor": "Dell Inc.", "board_name": "0PJ7YJ",
			"board_serial": ".7XK2PL3.CNFCP0021800LQ.", "bios_vendor": "Dell Inc.", "bios_version": "1.8.2", "bios_date": "09/14/2022",
		},
		MemGiB: 64,
		Disks: []disk{
			{Name: "sda", Dev: "8:0", Serial: "S4EWNX0R312457", WWN: "0x5002538e4090a1b2", Model: "SAMSUNG MZ7LH960HAJR"},
			{Name: "sdb", Dev: "8:16", Serial: "S4EWNX0R312466", WWN: "0x5002538e4090a1c7", Model: "SAMSUNG MZ7LH960HAJR"},
			{Name: "sdc", Dev: "8:32", Serial: "07012B7C3A2F", Model: "USB Flash Disk", Removable: true},
			{Name: "sr0", Dev: "11:0", Serial: "KZ9CB0312", Model: "DVD+-RW DU-8A6SH", Removable: true},
		},
		NICs: []nic{
			{Name: "eno1", MAC: "b0:7b:25:d4:3e:10", PCI: "0000:04:00.0"},
			{Name: "eno2", MAC: "b0:7b:25:d4:3e:11", PCI: "0000:04:00.1"},
			{Name: "docker0", MAC: "02:42:7a:11:c3:05", Virtual: true},
			{Name: "veth9f3a", MAC: "6e:1d:aa:04:b2:91", Virtual: true, AssignType: 3},
		},
		Hostname: "db-prod-01", MachineID: "5b2e0a8f4c9d4e1fa3b7c6d5e4f30211",
	}
	laptop = machine{
		CPUVendor: "GenuineIntel", CPUModel: "13th Gen Intel(R) Core(TM) i7-1365U", Microcode: "0x4121", Sockets: 1, Cores: 4,
		DMI: map[string]string{
			"sys_vendor": "LENOVO", "product_name": "21HD003AUS", "product_serial": "PF4KX2QZ",
			"product_uuid": "b1d6a3f0-2c4e-11b2-a85c-9d1e4b7f6a20", "board_vendor": "LENOVO", "board_name": "21HD003AUS",
			"board_serial": "L1HF35K08TM", "bios_vendor": "LENOVO", "bios_version": "N3XET51W (1.26 )", "bios_date": "03/02/2024",
		},
		MemGiB: 16,
		Disks:  []disk{{Name: "nvme0n1", Dev: "259:0", Serial: "S6YENJ0T512093", WWN: "eui.002538b521a0f3c4", Model: "SAMSUNG MZVL4512HBLU-00BL7"}},
		NICs: []nic{
			{Name: "wlp0s20f3", MAC: "a4:c3:f0:85:1e:6d", PCI: "0000:00:14.3"},
			{Name: "enx00e04c680011", MAC: "00:e0:4c:68:00:11", PCI: "0000:00:0d.0", AssignType: 1}, // USB dongle, random MAC
		},
		Hostname: "anna-thinkpad", MachineID: "c0ffee0011223344556677889900aabb",
	}
	vm = machine{
		CPUVendor: "AuthenticAMD", CPUModel: "AMD EPYC 7763 64-Core Processor", Microcode: "0x1000065", Sockets: 1, Cores: 2,
		DMI: map[string]string{
			"sys_vendor": "QEMU", "product_name": "Standard PC (Q35 + ICH9, 2009)", "product_serial": "",
			"product_uuid": "6f1c2e8a-9b3d-4a5e-8c7f-1d2e3f4a5b6c", "board_vendor": "", "board_name": "",
			"bios_vendor": "SeaBIOS", "bios_version": "1.16.2-debian-1.16.2-1", "bios_date": "04/01/2014",
		},
		MemGiB:   4,
		Disks:    []disk{{Name: "vda", Dev: "252:0", Model: "QEMU HARDDISK"}}, // virtio: no serial
		NICs:     []nic{{Name: "enp1s0", MAC: "52:54:00:9a:3c:71", PCI: "0000:01:00.0"}},
		Hostname: "build-agent-7", MachineID: "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
	}
)

var baseMachines = map[string]machine{"server": rackServer, "laptop": laptop, "vm": vm}

// TestFixtureTrees keeps the committed trees in testdata/hw (the physical
// machines above and the VMs of vm_fixture_test.go) identical to what their
// descriptions write, so the scenario variants (written from the same
// descriptions) stay comparable to them.
func TestFixtureTrees(t *testing.T) {
	all := map[string]machine{}
	for _, set := range []map[string]machine{baseMachines, vmMachines} {
		for name, m := range set {
			all[name] = m
		}
	}
	for name, m := range all {
		dir := filepath.Join("testdata", "hw", name)
		if *updateFixtures {
			os.RemoveAll(dir)
			if err := m.write(dir); err != nil {
				t.Fatal(err)
			}
		}
		fresh := t.TempDir()
		if err := m.write(fresh); err != nil {
			t.Fatal(err)
		}
		want, err := Collect(Options{Root: fresh})
		if err != nil {
			t.Fatal(err)
		}
		got, err := Collect(Options{Root: dir})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got.Values) != fmt.Sprint(want.Values) {
			t.Errorf("%s: committed tree differs from its description; run go test ./machine -run TestFixtureTrees -update-fixtures\n got %v\nwant %v", name, got.Values, want.Values)
		}
	}
}

// A ghw snapshot of a fixture tree reads the same as the tree.
func TestSnapshot(t *testing.T) {
	snap := filepath.Join("testdata", "hw", "server.tar.gz")
	if *updateFixtures {
		os.Remove(snap)
		if err := snapshot.PackFrom(context.Background(), snap, filepath.Join("testdata", "hw", "server")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Collect(Options{Root: snap})
	if err != nil {
		t.Fatal(err)
	}
	if r := fingerprint.Match(collectMachine(t, rackServer), got.Digest(scope), &fingerprint.DefaultPolicy); r.Score != 1000 {
		t.Fatalf("snapshot differs from the tree:\n%s", r.String())
	}
}
