package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mac describes a Mac as macOS shows it; write produces the outputs of the
// commands the macOS reader runs (darwin.go), formatted as those commands
// print them.
type mac struct {
	CPUVendor, Brand   string // CPUVendor: "" on Apple silicon
	MemGiB             int
	Model, BoardID     string // BoardID: Intel Macs only
	BoardIDAsHex       bool   // ioreg prints some data properties as hex
	UUID, Serial       string
	NVMe, SATA         []macDisk
	Ports              []macPort
	Hostname, ADDomain string
}

type macDisk struct{ Model, Serial string }

type macPort struct{ Name, Device, MAC string }

func (m mac) clone() mac {
	c := m
	c.NVMe = append([]macDisk(nil), m.NVMe...)
	c.SATA = append([]macDisk(nil), m.SATA...)
	c.Ports = append([]macPort(nil), m.Ports...)
	return c
}

func (m mac) write(dir string) error {
	files := map[string]string{}
	var plat strings.Builder
	fmt.Fprintf(&plat, "+-o %s  <class IOPlatformExpertDevice, id 0x100000110, registered, matched, active, busy 0 (139 ms), retain 37>\n    {\n", m.Model)
	fmt.Fprintf(&plat, "      \"IOPolledInterface\" = \"AppleARMWatchdogTimerHibernateHandler is not serializable\"\n")
	fmt.Fprintf(&plat, "      \"#address-cells\" = <02000000>\n")
	fmt.Fprintf(&plat, "      \"compatible\" = <\"%s\",\"AppleARM\">\n", m.Model)
	fmt.Fprintf(&plat, "      \"IOPlatformUUID\" = \"%s\"\n", m.UUID)
	fmt.Fprintf(&plat, "      \"serial-number\" = <%x>\n", append([]byte(m.Serial), make([]byte, 20)...))
	fmt.Fprintf(&plat, "      \"IOBusyInterest\" = \"IOCommand is not serializable\"\n")
	fmt.Fprintf(&plat, "      \"model\" = <\"%s\">\n", m.Model)
	fmt.Fprintf(&plat, "      \"manufacturer\" = <\"Apple Inc.\">\n")
	if m.BoardID != "" {
		if m.BoardIDAsHex {
			fmt.Fprintf(&plat, "      \"board-id\" = <%x00>\n", m.BoardID)
		} else {
			fmt.Fprintf(&plat, "      \"board-id\" = <\"%s\">\n", m.BoardID)
		}
	}
	fmt.Fprintf(&plat, "      \"IOPlatformSerialNumber\" = \"%s\"\n", m.Serial)
	fmt.Fprintf(&plat, "      \"IOConfigurationRegistryRoot\" = Yes\n    }\n    \n")
	files[darwinPlatformFile] = plat.String()
	var sys strings.Builder
	if m.CPUVendor != "" {
		fmt.Fprintf(&sys, "machdep.cpu.vendor: %s\n", m.CPUVendor)
	}
	fmt.Fprintf(&sys, "machdep.cpu.brand_string: %s\nhw.memsize: %d\nkern.hostname: %s\n", m.Brand, uint64(m.MemGiB)<<30, m.Hostname)
	files[darwinSysctlFile] = sys.String()
	var nvme strings.Builder
	for i, d := range m.NVMe {
		fmt.Fprintf(&nvme, "+-o AppleANS3NVMeController  <class AppleANS3NVMeController, id 0x1000003%02x, registered, matched, active, busy 0 (1 ms), retain 10>\n    {\n", i)
		fmt.Fprintf(&nvme, "      \"Model Number\" = \"%s\"\n      \"Serial Number\" = \"%s\"\n      \"Firmware Revision\" = \"532.100.\"\n    }\n    \n", d.Model, d.Serial)
	}
	files[darwinNVMeFile] = nvme.String()
	var ahci strings.Builder
	for i, d := range m.SATA {
		fmt.Fprintf(&ahci, "+-o IOAHCIBlockStorageDevice  <class IOAHCIBlockStorageDevice, id 0x1000004%02x, registered, matched, active, busy 0 (0 ms), retain 8>\n    {\n", i)
		fmt.Fprintf(&ahci, "      \"Device Characteristics\" = {\"Product Name\"=\"%s\",\"Serial Number\"=\"      %s\",\"Medium Type\"=\"Rotational\"}\n", d.Model, d.Serial)
		fmt.Fprintf(&ahci, "      \"Protocol Characteristics\" = {\"Physical Interconnect\"=\"SATA\",\"Physical Interconnect Location\"=\"Internal\"}\n    }\n    \n")
	}
	files[darwinAHCIFile] = ahci.String()
	var ports strings.Builder
	ports.WriteString("\n")
	for _, p := range m.Ports {
		fmt.Fprintf(&ports, "Hardware Port: %s\nDevice: %s\nEthernet Address: %s\n\n", p.Name, p.Device, p.MAC)
	}
	ports.WriteString("VLAN Configurations\n===================\n")
	files[darwinPortsFile] = ports.String()
	if m.ADDomain != "" {
		files[darwinADFile] = "Active Directory Forest          = " + m.ADDomain + "\nActive Directory Domain          = " + m.ADDomain + "\nComputer Account                 = " + strings.Split(m.Hostname, ".")[0] + "$\n"
	} else {
		files[darwinADFile] = ""
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Two Macs. Values are realistic, invented, and not anyone's.
var (
	macbookM2 = mac{
		Brand: "Apple M2 Pro", MemGiB: 16, Model: "Mac14,9",
		UUID: "3F1A9C2E-5B7D-4E8F-A0B1-C2D3E4F5A6B7", Serial: "K7QX4V9MDP",
		NVMe: []macDisk{{"APPLE SSD AP0512Z", "0ba0172be1c4e21d"}},
		Ports: []macPort{
			{"Wi-Fi", "en0", "3c:a6:f6:1b:2c:3d"},
			{"Thunderbolt Bridge", "bridge0", "N/A"},
			{"Thunderbolt 1", "en1", "36:9d:e1:4a:80:01"},
			{"Thunderbolt 2", "en2", "36:9d:e1:4a:80:02"},
		},
		Hostname: "annas-mbp.local",
	}
	iMacIntel = mac{
		CPUVendor: "GenuineIntel", Brand: "Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz", MemGiB: 8, Model: "iMac19,1", BoardID: "Mac-AA95B1DDAB278B95", BoardIDAsHex: true,
		UUID: "8E2C4A6B-1D3F-4B5A-9C7E-0F1A2B3C4D5E", Serial: "C02XK1ABJV3Q",
		SATA:     []macDisk{{"APPLE HDD ST1000DM003", "Z1D8L2QK"}},
		NVMe:     []macDisk{{"APPLE SSD AP0032", "C0283160A4EF"}},
		Ports:    []macPort{{"Ethernet", "en0", "38:f9:d3:0a:1b:2c"}, {"Wi-Fi", "en1", "8c:85:90:3d:4e:5f"}, {"Bluetooth PAN", "en3", "8c:85:90:3d:4e:60"}},
		Hostname: "reception-imac",
	}
	darwinMachines = map[string]mac{"macbook-m2": macbookM2, "imac-intel": iMacIntel}
)

// TestDarwinFixtures keeps testdata/darwin identical to the descriptions
// (-update-fixtures rewrites it).
func TestDarwinFixtures(t *testing.T) {
	for name, m := range darwinMachines {
		dir := filepath.Join("testdata", "darwin", name)
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
		entries, _ := os.ReadDir(fresh)
		for _, e := range entries {
			want, _ := os.ReadFile(filepath.Join(fresh, e.Name()))
			got, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil || string(got) != string(want) {
				t.Errorf("%s/%s differs from its description (%v); run go test ./machine -run TestDarwinFixtures -update-fixtures", dir, e.Name(), err)
			}
		}
	}
}
