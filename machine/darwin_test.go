package machine

import (
	"slices"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

func collectMac(t testing.TB, m mac) *fingerprint.Profile {
	t.Helper()
	dir := t.TempDir()
	if err := m.write(dir); err != nil {
		t.Fatal(err)
	}
	p, err := Collect(Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The committed records read as these exact values.
func TestDarwinValues(t *testing.T) {
	tests := []struct {
		dir  string
		want map[fingerprint.Component][]string
	}{
		{"testdata/darwin/macbook-m2", map[fingerprint.Component][]string{
			fingerprint.CPU:          {"Apple|Apple M2 Pro"},
			fingerprint.BoardModel:   {"Apple Inc.|Mac14,9"},
			fingerprint.SystemUUID:   {"3f1a9c2e-5b7d-4e8f-a0b1-c2d3e4f5a6b7"},
			fingerprint.SystemSerial: {"K7QX4V9MDP"},
			fingerprint.Memory:       {"16 GiB"},
			fingerprint.Disks:        {"sn:0BA0172BE1C4E21D"},
			fingerprint.NICs:         {"36:9d:e1:4a:80:01", "36:9d:e1:4a:80:02", "3c:a6:f6:1b:2c:3d"},
			fingerprint.Hostname:     {"annas-mbp"},
		}},
		{"testdata/darwin/imac-intel", map[fingerprint.Component][]string{
			fingerprint.CPU:          {"GenuineIntel|Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz"},
			fingerprint.BoardModel:   {"Apple Inc.|Mac-AA95B1DDAB278B95"},
			fingerprint.SystemUUID:   {"8e2c4a6b-1d3f-4b5a-9c7e-0f1a2b3c4d5e"},
			fingerprint.SystemSerial: {"C02XK1ABJV3Q"},
			fingerprint.Memory:       {"8 GiB"},
			fingerprint.Disks:        {"sn:C0283160A4EF", "sn:Z1D8L2QK"},
			fingerprint.NICs:         {"38:f9:d3:0a:1b:2c", "8c:85:90:3d:4e:5f", "8c:85:90:3d:4e:60"},
			fingerprint.Hostname:     {"reception-imac"},
		}},
	}
	for _, tc := range tests {
		p, err := Collect(Options{Root: tc.dir})
		if err != nil {
			t.Fatal(err)
		}
		for c, want := range tc.want {
			if got := p.Values[c]; !slices.Equal(got, want) {
				t.Errorf("%s %s: got %q, want %q", tc.dir, c, got, want)
			}
		}
		if len(p.Values) != len(tc.want) {
			t.Errorf("%s: read %d components, want %d: %v", tc.dir, len(p.Values), len(tc.want), p.Values)
		}
		if !strings.Contains(strings.Join(p.Notes, "\n"), "no TPM") {
			t.Errorf("%s: notes should say a Mac has no TPM: %q", tc.dir, p.Notes)
		}
	}
	if _, err := Collect(Options{Root: "testdata/darwin/macbook-m2", TPM: "/dev/tpmrm0"}); err == nil {
		t.Error("a TPM path for a recorded Mac accepted")
	}
}

func TestDarwinScenarios(t *testing.T) {
	type mchange func(*mac)
	ram := func(m *mac) { m.MemGiB *= 2 }
	diskReplaced := func(m *mac) { m.SATA[0].Serial = "ZA4K9X1M" }
	externalDisk := func(m *mac) { m.NVMe = append(m.NVMe, macDisk{"Samsung SSD 990 PRO 2TB", "S73WNJ0W412345X"}) }
	usbEthernet := func(m *mac) {
		m.Ports = append(m.Ports, macPort{"USB 10/100/1000 LAN", "en7", "00:e0:4c:68:1a:2b"})
	}
	renamed := func(m *mac) { m.Hostname = "front-desk" }
	bound := func(m *mac) { m.ADDomain = "corp.example.com" }
	reimaged := func(m *mac) { m.Hostname = "Mac" } // erase-install: no machine ID on macOS, the name is the default
	cpu := func(m *mac) { m.Brand = "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz" }
	// A logic board replacement: new hardware UUID and onboard NICs (and, on
	// Apple silicon, the soldered SSD); Apple writes the serial onto the new board.
	board := func(m *mac) {
		m.UUID = "0D9C8B7A-6F5E-4D3C-2B1A-0F9E8D7C6B5A"
		for i := range m.Ports {
			if m.Ports[i].MAC != "N/A" {
				m.Ports[i].MAC = m.Ports[i].MAC[:9] + "ee:ee:0" + string(rune('0'+i))
			}
		}
		for i := range m.NVMe {
			m.NVMe[i].Serial = "1c2d3e4f5a6b7c8d"
		}
	}
	otherUnit := func(m *mac) {
		board(m)
		m.Serial = "K7QX4V9ZZZ"
	}
	tests := []struct {
		name string
		base mac
		now  []mchange
		same bool
		why  string
	}{
		{"iMac: RAM upgrade", iMacIntel, []mchange{ram}, true, "reaches the threshold"},
		{"iMac: hard disk replaced", iMacIntel, []mchange{diskReplaced}, true, "reaches the threshold"},
		{"iMac: disk added", iMacIntel, []mchange{externalDisk}, true, "reaches the threshold"},
		{"iMac: USB Ethernet added", iMacIntel, []mchange{usbEthernet}, true, "reaches the threshold"},
		{"iMac: renamed", iMacIntel, []mchange{renamed}, true, "reaches the threshold"},
		{"iMac: bound to Active Directory", iMacIntel, []mchange{bound}, true, "reaches the threshold"},
		{"iMac: re-imaged", iMacIntel, []mchange{reimaged}, true, "reaches the threshold"},
		{"iMac: all of these at once", iMacIntel, []mchange{ram, diskReplaced, externalDisk, usbEthernet, renamed, bound, reimaged}, true, "reaches the threshold"},
		{"iMac: CPU replaced", iMacIntel, []mchange{cpu}, false, "cpu changed"},
		{"iMac: logic board replaced", iMacIntel, []mchange{board}, false, "system-uuid changed"},
		{"MacBook: USB Ethernet added", macbookM2, []mchange{usbEthernet}, true, "reaches the threshold"},
		{"MacBook: external disk, renamed, re-imaged", macbookM2, []mchange{externalDisk, renamed, reimaged}, true, "reaches the threshold"},
		{"MacBook: logic board replaced", macbookM2, []mchange{board}, false, "system-uuid changed"},
		{"MacBook: another unit of the model", macbookM2, []mchange{otherUnit}, false, "system-uuid changed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now := tc.base.clone()
			for _, c := range tc.now {
				c(&now)
			}
			enrolled := collectMac(t, tc.base).Digest(scope)
			current := collectMac(t, now).Digest(scope)
			r := fingerprint.Match(enrolled, current, &fingerprint.DefaultPolicy)
			if r.Same != tc.same || !strings.Contains(r.Reason(), tc.why) {
				t.Errorf("same device = %v, want %v because %q\n%s", r.Same, tc.same, tc.why, r.String())
			}
		})
	}
}

func TestIORegForms(t *testing.T) {
	props := parseIORegProps(`    {
      "a" = "plain"
      "b" = <"quoted data">
      "c" = <4d61632d414100>
      "d" = <00ff10>
      "e" = 12
      "f" = {"x"="y"}
    }`)
	want := map[string]string{"a": "plain", "b": "quoted data", "c": "Mac-AA"}
	for k, v := range want {
		if props[k] != v {
			t.Errorf("%s: got %q, want %q", k, props[k], v)
		}
	}
	for _, k := range []string{"d", "e", "f"} {
		if _, ok := props[k]; ok {
			t.Errorf("%s should not read as a string: %q", k, props[k])
		}
	}
}
