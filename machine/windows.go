package machine

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/seatkey/seatkey/fingerprint"
)

// wmiRecord is what the Windows reader queries, kept as WMI returns it: one
// slice per WMI class with the properties seatkey reads (the field names are
// the property names), plus the MachineGuid registry value. Its JSON form is
// the format of the fixtures in testdata/windows; profileFromWMI turns it into
// a Profile on any OS.
type wmiRecord struct {
	Processor      []win32Processor      `json:"Win32_Processor"`
	BaseBoard      []win32BaseBoard      `json:"Win32_BaseBoard"`
	Product        []win32Product        `json:"Win32_ComputerSystemProduct"`
	BIOS           []win32BIOS           `json:"Win32_BIOS"`
	System         []win32ComputerSystem `json:"Win32_ComputerSystem"`
	DiskDrive      []win32DiskDrive      `json:"Win32_DiskDrive"`
	PhysicalDisk   []msftPhysicalDisk    `json:"MSFT_PhysicalDisk,omitempty"`    // root\Microsoft\Windows\Storage, Windows 8 and later
	NetAdapter     []msftNetAdapter      `json:"MSFT_NetAdapter,omitempty"`      // root\StandardCimv2, Windows 8 and later
	NetworkAdapter []win32NetworkAdapter `json:"Win32_NetworkAdapter,omitempty"` // older Windows: used when MSFT_NetAdapter is empty
	MachineGuid    string                `json:"MachineGuid"`                    // HKLM\SOFTWARE\Microsoft\Cryptography
	Notes          []string              `json:"Notes,omitempty"`                // what the reader could not query, and why
}

type win32Processor struct{ Manufacturer, Name string }

type win32BaseBoard struct{ Manufacturer, Product, SerialNumber string }

type win32Product struct{ UUID, IdentifyingNumber string }

type win32BIOS struct {
	Manufacturer, SMBIOSBIOSVersion string
	ReleaseDate                     string // CIM_DATETIME: yyyymmddHHMMSS.mmmmmmsUUU
}

type win32ComputerSystem struct {
	Name, DNSHostName, Domain string
	Manufacturer, Model       string // SMBIOS system vendor and product: Linux's sys_vendor and product_name (for telling VMs apart)
	PartOfDomain              bool
	TotalPhysicalMemory       uint64
}

type win32DiskDrive struct {
	Index                                       uint32
	Model, SerialNumber, MediaType, PNPDeviceID string
}

type msftPhysicalDisk struct {
	DeviceId, SerialNumber, UniqueId string
	UniqueIdFormat                   uint16 // 2 EUI-64, 3 FCPH name (NAA): a WWN
	BusType                          uint16
}

type msftNetAdapter struct {
	Name, InterfaceDescription, PermanentAddress, MacAddress, PnPDeviceID string
	HardwareInterface, Virtual                                            bool
}

type win32NetworkAdapter struct {
	Name, MACAddress, PNPDeviceID string
	PhysicalAdapter               bool
}

func readWMIRecord(path string) (*fingerprint.Profile, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	rec, err := parseWMIRecord(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return profileFromWMI(rec), nil
}

// parseWMIRecord decodes a record strictly: unknown fields and trailing data
// are errors; a leading UTF-8 BOM (PowerShell writes one) is allowed.
func parseWMIRecord(b []byte) (*wmiRecord, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var rec wmiRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrRecord)
	}
	return &rec, nil
}

// profileFromWMI turns recorded WMI results into a profile whose values equal
// what the Linux reader gets from the same machine (SPEC.md 9.1).
func profileFromWMI(r *wmiRecord) *fingerprint.Profile {
	p := &fingerprint.Profile{Notes: append([]string(nil), r.Notes...)}
	var cpus []string
	for _, c := range r.Processor {
		if fingerprint.Normalize(fingerprint.CPU, c.Name) != "" {
			cpus = append(cpus, oneSpace(c.Manufacturer)+"|"+oneSpace(c.Name))
		}
	}
	p.Set(fingerprint.CPU, cpus...)
	for _, b := range r.BaseBoard {
		p.Set(fingerprint.BoardModel, pair(b.Manufacturer, b.Product))
		p.Set(fingerprint.BoardSerial, b.SerialNumber)
	}
	for _, s := range r.Product {
		p.Set(fingerprint.SystemUUID, strings.Trim(strings.TrimSpace(s.UUID), "{}"))
		p.Set(fingerprint.SystemSerial, s.IdentifyingNumber)
	}
	for _, b := range r.BIOS {
		p.Set(fingerprint.BIOS, join3(b.Manufacturer, b.SMBIOSBIOSVersion, cimDate(b.ReleaseDate)))
	}
	p.Set(fingerprint.Disks, wmiDisks(r)...)
	p.Set(fingerprint.NICs, wmiNICs(r)...)
	for _, s := range r.System {
		p.Set(fingerprint.Memory, gib(s.TotalPhysicalMemory))
		host := s.DNSHostName
		if host == "" {
			host = s.Name
		}
		p.Set(fingerprint.Hostname, host)
		if s.PartOfDomain { // otherwise Domain is the workgroup's name
			p.Set(fingerprint.Domain, s.Domain)
		}
	}
	p.Set(fingerprint.MachineID, strings.Trim(strings.TrimSpace(r.MachineGuid), "{}"))
	return p
}

// oneSpace folds white space as Normalize does, so vendor|model joins the
// same parts as Linux's /proc/cpuinfo (WMI pads Name with spaces).
func oneSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// cimDate turns a CIM_DATETIME ("20220914000000.000000+000") into the
// mm/dd/yyyy form SMBIOS and Linux use; anything else is kept as it is.
func cimDate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) < 8 || strings.Trim(s[:8], "0123456789") != "" {
		return s
	}
	return s[4:6] + "/" + s[6:8] + "/" + s[:4]
}

// wmiDisks lists fixed and external disks (Linux counts every disk that is
// not removable media; USB sticks and card readers report "Removable Media")
// by WWN as Linux's udev shows it, else by serial.
func wmiDisks(r *wmiRecord) []string {
	phys := map[string]msftPhysicalDisk{}
	for _, d := range r.PhysicalDisk {
		phys[strings.TrimSpace(d.DeviceId)] = d
	}
	var ids []string
	for _, d := range r.DiskDrive {
		mt := strings.ToLower(d.MediaType)
		if !strings.HasPrefix(mt, "fixed") && !strings.HasPrefix(mt, "external") {
			continue
		}
		pd, ok := phys[fmt.Sprint(d.Index)]
		if ok {
			if w := wwnFromUniqueID(pd.UniqueId, pd.UniqueIdFormat); w != "" {
				ids = append(ids, "wwn:"+w)
				continue
			}
		}
		serial := ""
		if ok {
			serial = pd.SerialNumber // not byte-swapped: read through the storage stack
		}
		if fingerprint.Normalize(fingerprint.Disks, serial) == "" {
			serial = fixATASerial(d.SerialNumber)
		}
		if w := wwnFromEUISerial(serial); w != "" { // NVMe: Windows shows the EUI-64 as the serial
			ids = append(ids, "wwn:"+w)
			continue
		}
		if s := fingerprint.Normalize(fingerprint.Disks, serial); s != "" {
			ids = append(ids, "sn:"+strings.ToUpper(s))
		}
	}
	return ids
}

// wwnFromUniqueID turns MSFT_PhysicalDisk.UniqueId into the WWN form udev's
// ID_WWN has on Linux: "0x" + NAA in hex for an FCPH name (format 3),
// "eui." + hex for an EUI-64 (format 2). Other formats are not WWNs.
func wwnFromUniqueID(id string, format uint16) string {
	h := bareHex(id)
	if h == "" {
		return ""
	}
	switch format {
	case 2:
		return "eui." + h
	case 3:
		return "0x" + h
	}
	return ""
}

// wwnFromEUISerial recognises the EUI-64 or NGUID that Windows reports as
// an NVMe disk's serial ("0025_38B5_21A0_F3C4."): groups of four hex digits
// joined by "_", with a trailing ".".
func wwnFromEUISerial(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	groups := strings.Split(s, "_")
	if len(groups) != 4 && len(groups) != 8 {
		return ""
	}
	for _, g := range groups {
		if len(g) != 4 || !isHex(g[0]) || !isHex(g[1]) || !isHex(g[2]) || !isHex(g[3]) {
			return ""
		}
	}
	return "eui." + strings.ToLower(strings.Join(groups, ""))
}

// bareHex strips a known prefix ("eui.", "naa.", "0x") and separators, and
// returns the lower-case hex digits, or "" when it is not 16 or 32 of them.
func bareHex(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, pre := range []string{"eui.", "naa.", "0x"} {
		s = strings.TrimPrefix(s, pre)
	}
	s = strings.NewReplacer("_", "", "-", "", ".", "", ":", "", " ", "").Replace(s)
	if len(s) != 16 && len(s) != 32 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return ""
		}
	}
	return s
}

// fixATASerial undoes the form older Windows gives ATA serials in
// Win32_DiskDrive: the 20-byte IDENTIFY field hex-encoded (40 hex digits) in
// ATA word order, each pair of characters swapped. A 40-digit hex string
// whose bytes, swapped back, are printable is decoded; anything else is kept.
func fixATASerial(s string) string {
	t := strings.TrimSpace(s)
	if len(t) != 40 {
		return s
	}
	b, err := hex.DecodeString(t)
	if err != nil {
		return s
	}
	for i := 0; i+1 < len(b); i += 2 {
		b[i], b[i+1] = b[i+1], b[i]
	}
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return s
		}
	}
	return strings.TrimSpace(string(b))
}

// wmiNICs lists the permanent MACs of hardware network adapters, as Linux
// lists the permanent MACs of NICs that are not virtual: from MSFT_NetAdapter
// (HardwareInterface and not Virtual), else from Win32_NetworkAdapter
// (PhysicalAdapter). Software-enumerated (ROOT\, SWD\) and Bluetooth (BTH\)
// adapters are left out on both.
func wmiNICs(r *wmiRecord) []string {
	soft := func(pnp string) bool {
		u := strings.ToUpper(pnp)
		return strings.HasPrefix(u, `ROOT\`) || strings.HasPrefix(u, `SWD\`) || strings.HasPrefix(u, `BTH\`)
	}
	var macs []string
	if len(r.NetAdapter) > 0 {
		for _, n := range r.NetAdapter {
			if !n.HardwareInterface || n.Virtual || soft(n.PnPDeviceID) {
				continue
			}
			mac := canonicalMAC(n.PermanentAddress)
			if mac == "" {
				mac = canonicalMAC(n.MacAddress)
			}
			if mac != "" {
				macs = append(macs, mac)
			}
		}
		return macs
	}
	for _, n := range r.NetworkAdapter {
		if n.PhysicalAdapter && !soft(n.PNPDeviceID) {
			if mac := canonicalMAC(n.MACAddress); mac != "" {
				macs = append(macs, mac)
			}
		}
	}
	return macs
}
