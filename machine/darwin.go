package machine

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/seatkey/seatkey/fingerprint"
)

// A macOS record is a directory of command outputs, one file each, exactly as
// the commands print them; the macOS reader runs the same commands. Only the
// platform file is required.
const (
	darwinPlatformFile = "ioreg-platform.txt" // ioreg -rd1 -c IOPlatformExpertDevice
	darwinSysctlFile   = "sysctl.txt"         // sysctl machdep.cpu.vendor machdep.cpu.brand_string hw.memsize kern.hostname
	darwinNVMeFile     = "ioreg-nvme.txt"     // ioreg -rd1 -c IONVMeController
	darwinAHCIFile     = "ioreg-ahci.txt"     // ioreg -rd1 -c IOAHCIBlockStorageDevice
	darwinPortsFile    = "networksetup.txt"   // networksetup -listallhardwareports
	darwinADFile       = "dsconfigad.txt"     // dsconfigad -show (empty when not bound to a directory)
)

// darwinOutputs holds the outputs by file name.
type darwinOutputs map[string]string

func readDarwinRecord(dir string) (*fingerprint.Profile, error) {
	out := darwinOutputs{}
	for _, name := range []string{darwinPlatformFile, darwinSysctlFile, darwinNVMeFile, darwinAHCIFile, darwinPortsFile, darwinADFile} {
		b, err := readLimited(filepath.Join(dir, name))
		if err != nil {
			if name != darwinPlatformFile && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out[name] = string(b)
	}
	return profileFromDarwin(out), nil
}

// profileFromDarwin turns the outputs of the macOS commands into a profile.
// An Intel Mac gives the values Linux reads from its SMBIOS tables (the
// serial and UUID, board-id as the board name); Macs have no TPM, no
// board serial that macOS shows, and no per-installation machine ID.
func profileFromDarwin(out darwinOutputs) *fingerprint.Profile {
	p := &fingerprint.Profile{}
	sys := parseSysctl(out[darwinSysctlFile])
	plat := parseIORegProps(out[darwinPlatformFile])

	vendor := sys["machdep.cpu.vendor"] // Intel; Apple silicon has none
	brand := oneSpace(sys["machdep.cpu.brand_string"])
	if vendor == "" && strings.HasPrefix(brand, "Apple ") {
		vendor = "Apple"
	}
	if brand != "" {
		p.Set(fingerprint.CPU, vendor+"|"+brand)
	}
	maker := plat["manufacturer"]
	if maker == "" {
		maker = "Apple Inc."
	}
	board := plat["board-id"] // Intel Macs; Apple silicon: the model identifier
	if board == "" {
		board = plat["model"]
	}
	p.Set(fingerprint.BoardModel, pair(maker, board))
	p.Set(fingerprint.SystemUUID, plat["IOPlatformUUID"])
	p.Set(fingerprint.SystemSerial, plat["IOPlatformSerialNumber"])
	if n, err := strconv.ParseUint(sys["hw.memsize"], 10, 64); err == nil {
		p.Set(fingerprint.Memory, gib(n))
	}
	var disks []string
	for _, s := range ioregSerials(out[darwinNVMeFile] + "\n" + out[darwinAHCIFile]) {
		if v := fingerprint.Normalize(fingerprint.Disks, s); v != "" {
			disks = append(disks, "sn:"+strings.ToUpper(v))
		}
	}
	p.Set(fingerprint.Disks, disks...)
	p.Set(fingerprint.NICs, hardwarePortMACs(out[darwinPortsFile])...)
	host := strings.TrimSuffix(sys["kern.hostname"], ".local") // Bonjour's name, not a domain
	p.Set(fingerprint.Hostname, host)
	domain := adDomain(out[darwinADFile])
	if domain == "" {
		if _, d, ok := strings.Cut(host, "."); ok {
			domain = d
		}
	}
	p.Set(fingerprint.Domain, domain)
	p.Notes = append(p.Notes, "macOS: no TPM, no board serial, no BIOS version and no machine ID to read")
	return p
}

// parseSysctl reads "name: value" lines (sysctl's output without -n).
func parseSysctl(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

var ioregProp = regexp.MustCompile(`^\s*[|\s]*"([^"]+)" = (.*)$`)

// parseIORegProps reads the top-level properties of ioreg -rd1 output:
// strings ("..."), and data holding a string (<"..."> or <hex> ending in NUL).
func parseIORegProps(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		sm := ioregProp.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if sm == nil {
			continue
		}
		if v, ok := ioregString(strings.TrimSpace(sm[2])); ok {
			if _, dup := m[sm[1]]; !dup {
				m[sm[1]] = v
			}
		}
	}
	return m
}

func ioregString(v string) (string, bool) {
	switch {
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
		return v[1 : len(v)-1], true
	case len(v) >= 4 && strings.HasPrefix(v, `<"`) && strings.HasSuffix(v, `">`):
		return v[2 : len(v)-2], true
	case len(v) >= 2 && v[0] == '<' && v[len(v)-1] == '>':
		b, err := hex.DecodeString(v[1 : len(v)-1])
		if err != nil {
			return "", false
		}
		str := strings.TrimRight(string(b), "\x00")
		for _, c := range []byte(str) {
			if c < 0x20 || c > 0x7e {
				return "", false
			}
		}
		return str, true
	}
	return "", false
}

var ioregSerial = regexp.MustCompile(`"Serial Number" ?= ?"([^"]*)"`)

// ioregSerials returns the first "Serial Number" of each object ("+-o") in
// ioreg output: NVMe controllers have it as a property, AHCI disks inside
// their "Device Characteristics".
func ioregSerials(s string) []string {
	var out []string
	for _, obj := range strings.Split(s, "+-o ") {
		if sm := ioregSerial.FindStringSubmatch(obj); sm != nil {
			out = append(out, sm[1])
		}
	}
	return out
}

// hardwarePortMACs reads networksetup -listallhardwareports: the hardware
// (not the private, per-network) MAC of each en* port.
func hardwarePortMACs(s string) []string {
	var macs []string
	var dev, mac string
	flush := func() {
		if strings.HasPrefix(dev, "en") {
			if m := canonicalMAC(mac); m != "" {
				macs = append(macs, m)
			}
		}
		dev, mac = "", ""
	}
	for _, line := range strings.Split(s, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "Hardware Port":
			flush()
		case "Device":
			dev = strings.TrimSpace(v)
		case "Ethernet Address":
			mac = strings.TrimSpace(v)
		}
	}
	flush()
	return macs
}

// adDomain reads the Active Directory domain from dsconfigad -show.
func adDomain(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "Active Directory Domain" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
