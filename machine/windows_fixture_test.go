package machine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

// winForm says which Windows shows a machine: a current one (the MSFT_
// storage and network classes exist) or an old one (Win32_ classes only, ATA
// serials hex-encoded in IDENTIFY word order).
type winForm struct {
	old    bool
	braces bool // the UUID in braces
}

// windowsRecord is what WMI and the registry of the given Windows show of the
// machine that m describes as Linux sees it. It writes the values in WMI's own
// forms (upper case, braces, padding, CIM dates, other MAC separators), so the
// reader must undo them to get Linux's values.
func windowsRecord(m machine, f winForm) wmiRecord {
	r := wmiRecord{}
	for s := 0; s < m.Sockets; s++ {
		r.Processor = append(r.Processor, win32Processor{Manufacturer: m.CPUVendor, Name: m.CPUModel + "   "})
	}
	r.BaseBoard = []win32BaseBoard{{Manufacturer: m.DMI["board_vendor"], Product: m.DMI["board_name"], SerialNumber: m.DMI["board_serial"] + "  "}}
	uuid := strings.ToUpper(m.DMI["product_uuid"])
	if f.braces {
		uuid = "{" + uuid + "}"
	}
	r.Product = []win32Product{{UUID: uuid, IdentifyingNumber: m.DMI["product_serial"] + " "}}
	date := m.DMI["bios_date"] // mm/dd/yyyy
	if len(date) == 10 {
		date = date[6:] + date[:2] + date[3:5] + "000000.000000+000"
	}
	r.BIOS = []win32BIOS{{Manufacturer: m.DMI["bios_vendor"], SMBIOSBIOSVersion: m.DMI["bios_version"], ReleaseDate: date}}
	netbios := strings.ToUpper(m.Hostname)
	if len(netbios) > 15 {
		netbios = netbios[:15]
	}
	sys := win32ComputerSystem{Manufacturer: m.DMI["sys_vendor"], Model: m.DMI["product_name"], Name: netbios, DNSHostName: m.Hostname, Domain: "WORKGROUP", TotalPhysicalMemory: uint64(m.MemGiB)<<30 - 311<<20}
	if m.Domain != "" {
		sys.Domain, sys.PartOfDomain = m.Domain, true
	}
	r.System = []win32ComputerSystem{sys}
	idx := uint32(0)
	for _, d := range m.Disks {
		if strings.HasPrefix(d.Name, "sr") { // optical drives are Win32_CDROMDrive
			continue
		}
		dd := win32DiskDrive{Index: idx, Model: d.Model, MediaType: "Fixed hard disk media", PNPDeviceID: `SCSI\DISK&VEN_&PROD_` + strings.ToUpper(strings.ReplaceAll(d.Model, " ", "_")) + `\4&2A8D3F1&0&00000` + fmt.Sprint(idx)}
		if d.Removable {
			dd.MediaType = "Removable Media"
			dd.PNPDeviceID = `USBSTOR\DISK&VEN_GENERIC&PROD_FLASH_DISK\` + d.Serial + "&0"
		}
		nvme := strings.HasPrefix(d.WWN, "eui.")
		switch {
		case nvme: // Windows shows an NVMe disk's EUI-64 as its serial
			h := strings.ToUpper(strings.TrimPrefix(d.WWN, "eui."))
			dd.SerialNumber = h[0:4] + "_" + h[4:8] + "_" + h[8:12] + "_" + h[12:16] + "."
		case f.old && d.Serial != "" && !d.Removable:
			dd.SerialNumber = ataHex(d.Serial)
		default:
			dd.SerialNumber = d.Serial
		}
		r.DiskDrive = append(r.DiskDrive, dd)
		if !f.old {
			pd := msftPhysicalDisk{DeviceId: fmt.Sprint(idx), SerialNumber: d.Serial, BusType: 11} // SATA
			switch {
			case nvme:
				pd.BusType, pd.SerialNumber = 17, dd.SerialNumber
				pd.UniqueId, pd.UniqueIdFormat = "eui."+strings.ToUpper(strings.TrimPrefix(d.WWN, "eui.")), 2
			case strings.HasPrefix(d.WWN, "0x"):
				pd.UniqueId, pd.UniqueIdFormat = strings.ToUpper(strings.TrimPrefix(d.WWN, "0x")), 3
			default: // no WWN: a vendor-specific identifier, not a name
				pd.UniqueId, pd.UniqueIdFormat = "SAMSUNG "+d.Serial, 0
			}
			if d.Removable {
				pd.BusType = 7 // USB
			}
			r.PhysicalDisk = append(r.PhysicalDisk, pd)
		}
		idx++
	}
	for i, n := range m.NICs {
		pnp := fmt.Sprintf(`PCI\VEN_8086&DEV_1521&SUBSYS_1F9B1028&REV_01\4&1C3F6A%d&0&0008`, i)
		if n.Virtual {
			pnp = fmt.Sprintf(`ROOT\VMS_MP\%04d`, i)
		}
		if f.old {
			r.NetworkAdapter = append(r.NetworkAdapter, win32NetworkAdapter{Name: n.Name, MACAddress: strings.ToUpper(n.MAC), PNPDeviceID: pnp, PhysicalAdapter: !n.Virtual})
			continue
		}
		up := strings.ToUpper(n.MAC)
		r.NetAdapter = append(r.NetAdapter, msftNetAdapter{
			Name: n.Name, InterfaceDescription: "Adapter " + n.Name, PnPDeviceID: pnp,
			PermanentAddress: strings.ReplaceAll(up, ":", ""), MacAddress: strings.ReplaceAll(up, ":", "-"),
			HardwareInterface: !n.Virtual, Virtual: n.Virtual,
		})
	}
	// What every Windows also has: a Wi-Fi Direct virtual adapter and a
	// Bluetooth PAN adapter; neither is the machine's NIC.
	if f.old {
		r.NetworkAdapter = append(r.NetworkAdapter, win32NetworkAdapter{Name: "Bluetooth Device (Personal Area Network)", MACAddress: "A4:C3:F0:85:1E:70", PNPDeviceID: `BTH\MS_BTHPAN\7&2F3E1D&0&2`, PhysicalAdapter: true})
	} else {
		r.NetAdapter = append(r.NetAdapter,
			msftNetAdapter{Name: "Local Area Connection* 1", InterfaceDescription: "Microsoft Wi-Fi Direct Virtual Adapter", PnPDeviceID: `{5D624F94-8850-40C3-A3FA-A4FD2080BAF3}\VWIFIMP_WFD\5&1E6A0C&0&11`, PermanentAddress: "A6C3F0851E6D", MacAddress: "A6-C3-F0-85-1E-6D", Virtual: true},
			msftNetAdapter{Name: "Bluetooth Network Connection", InterfaceDescription: "Bluetooth Device (Personal Area Network)", PnPDeviceID: `BTH\MS_BTHPAN\7&2F3E1D&0&2`, PermanentAddress: "A4C3F0851E70", MacAddress: "A4-C3-F0-85-1E-70", HardwareInterface: true},
		)
	}
	if id := m.MachineID; len(id) == 32 {
		r.MachineGuid = id[:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
	}
	return r
}

// ataHex is how older Windows shows an ATA serial: the 20-byte IDENTIFY
// field (right-aligned, space-padded) hex-encoded in ATA word order.
func ataHex(serial string) string {
	b := []byte(fmt.Sprintf("%20s", serial))
	for i := 0; i+1 < len(b); i += 2 {
		b[i], b[i+1] = b[i+1], b[i]
	}
	return fmt.Sprintf("%x", b)
}

func (r wmiRecord) write(path string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // PNP device IDs hold '&'
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// collectWindows writes m as Windows f shows it and reads it back through
// Collect, as the CLI's --root reads a recorded Windows machine.
func collectWindows(t testing.TB, m machine, f winForm) *fingerprint.Profile {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wmi.json")
	if err := windowsRecord(m, f).write(path); err != nil {
		t.Fatal(err)
	}
	p, err := Collect(Options{Root: path})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var windowsFixtures = map[string]struct {
	m machine
	f winForm
}{
	"server":      {rackServer, winForm{}},
	"laptop":      {laptop, winForm{braces: true}},
	"vm":          {vm, winForm{}},
	"server-2008": {apply(rackServer, noWWN), winForm{old: true}},
	"laptop-2008": {laptop, winForm{old: true}},
}

// noWWN: disks whose udev entry has no WWN (older SATA disks): known by serial.
var noWWN = func(m *machine) {
	for i := range m.Disks {
		m.Disks[i].WWN = ""
	}
}

// TestWindowsFixtures keeps testdata/windows identical to what the
// descriptions write (-update-fixtures rewrites it), and checks that each
// committed record reads as the same machine it was written from.
func TestWindowsFixtures(t *testing.T) {
	for name, fx := range windowsFixtures {
		path := filepath.Join("testdata", "windows", name+".json")
		fresh := filepath.Join(t.TempDir(), name+".json")
		if err := windowsRecord(fx.m, fx.f).write(fresh); err != nil {
			t.Fatal(err)
		}
		if *updateFixtures {
			b, _ := os.ReadFile(fresh)
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, _ := os.ReadFile(fresh)
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from its description (%v); run go test ./machine -run TestWindowsFixtures -update-fixtures", path, err)
		}
		p, err := Collect(Options{Root: path})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Values[fingerprint.CPU]) != 1 || len(p.Values[fingerprint.NICs]) == 0 {
			t.Errorf("%s: read too little: %v", name, p.Values)
		}
	}
}
