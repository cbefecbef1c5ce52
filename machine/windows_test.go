package machine

import (
	"slices"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

// Each odd form WMI gives a value in reads as Linux gives it.
func TestWMIOddForms(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"ATA serial hex-encoded in word order", fixATASerial(ataHex("S4EWNX0R312457")), "S4EWNX0R312457"},
		{"ATA serial hex, odd length", fixATASerial(ataHex("WD-WCC4E1234567")), "WD-WCC4E1234567"},
		{"plain serial kept", fixATASerial("S4EWNX0R312457"), "S4EWNX0R312457"},
		{"40 hex digits that are not text kept", fixATASerial("07012b7c3a2f07012b7c3a2f07012b7c3a2f0701"), "07012b7c3a2f07012b7c3a2f07012b7c3a2f0701"},
		{"NVMe EUI-64 as serial", wwnFromEUISerial("0025_38B5_21A0_F3C4."), "eui.002538b521a0f3c4"},
		{"NVMe NGUID as serial", wwnFromEUISerial("0025_38B5_21A0_F3C4_0025_38B5_21A0_F3C5."), "eui.002538b521a0f3c4002538b521a0f3c5"},
		{"ordinary serial is no EUI", wwnFromEUISerial("S6YE_NJ0T_5120_93"), ""},
		{"NAA unique ID", wwnFromUniqueID("5002538E4090A1B2", 3), "0x5002538e4090a1b2"},
		{"EUI-64 unique ID", wwnFromUniqueID("eui.002538B521A0F3C4", 2), "eui.002538b521a0f3c4"},
		{"vendor-specific unique ID is no WWN", wwnFromUniqueID("5002538E4090A1B2", 0), ""},
		{"CIM date", cimDate("20220914000000.000000+000"), "09/14/2022"},
		{"date already mm/dd/yyyy", cimDate("09/14/2022"), "09/14/2022"},
		{"MAC with dashes", canonicalMAC("B0-7B-25-D4-3E-10"), "b0:7b:25:d4:3e:10"},
		{"MAC bare", canonicalMAC("B07B25D43E10"), "b0:7b:25:d4:3e:10"},
		{"not a MAC", canonicalMAC("B07B25D43E1G"), ""},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	p := profileFromWMI(&wmiRecord{
		Product:   []win32Product{{UUID: "{4C4C4544-0058-4B10-8032-B7C04F504C33}", IdentifyingNumber: "System Serial Number"}},
		BaseBoard: []win32BaseBoard{{Manufacturer: "ASUSTeK", Product: "PRIME B450M-A", SerialNumber: "Default string"}},
		System:    []win32ComputerSystem{{Name: "DESK", Domain: "WORKGROUP"}},
	})
	if got := p.Values[fingerprint.SystemUUID]; len(got) != 1 || got[0] != "4c4c4544-0058-4b10-8032-b7c04f504c33" {
		t.Errorf("UUID in braces: %v", got)
	}
	for _, c := range []fingerprint.Component{fingerprint.CPU, fingerprint.SystemSerial, fingerprint.BoardSerial, fingerprint.Domain} {
		if v, ok := p.Values[c]; ok {
			t.Errorf("%s should be absent (empty, placeholder or workgroup), got %v", c, v)
		}
	}
}

// A machine recorded under Linux (a sysfs tree) and under Windows (WMI) is
// the same device, with the same digests for every hardware component: moving
// a server from one OS to the other is re-imaging.
func TestLinuxAndWindowsSameMachine(t *testing.T) {
	hardware := []fingerprint.Component{fingerprint.CPU, fingerprint.BoardModel, fingerprint.BoardSerial, fingerprint.SystemUUID,
		fingerprint.SystemSerial, fingerprint.BIOS, fingerprint.Memory, fingerprint.Disks, fingerprint.NICs}
	for name, fx := range windowsFixtures {
		t.Run(name, func(t *testing.T) {
			linux := collectProfile(t, fx.m)
			win := collectWindows(t, fx.m, fx.f)
			lf, wf := linux.Digest(scope), win.Digest(scope)
			r := fingerprint.Match(lf, wf, &fingerprint.DefaultPolicy)
			if !r.Same {
				t.Fatalf("Linux and Windows views of one machine are different devices:\n%s", r.String())
			}
			for _, c := range hardware {
				l, w := linux.Values[c], win.Values[c]
				switch {
				case c == fingerprint.NICs && name == "laptop" || c == fingerprint.NICs && name == "laptop-2008":
					// Linux leaves out the USB dongle whose MAC is random
					// (addr_assign_type 1); Windows cannot tell. A superset.
					if !isSubset(l, w) || len(w) != len(l)+1 {
						t.Errorf("nics: Linux %v should be Windows %v less the dongle", l, w)
					}
				case c == fingerprint.Disks && name == "server-2008":
					// Old Windows has no WWN; Linux has none for these disks either.
					fallthrough
				default:
					if !slices.Equal(l, w) || !slices.Equal(lf.Components[c], wf.Components[c]) {
						t.Errorf("%s: Linux %q, Windows %q", c, l, w)
					}
				}
			}
			if r.Components[fingerprint.MachineID-1].Status != fingerprint.Changed {
				t.Errorf("machine-id should differ between two OS installs: %s", r.Components[fingerprint.MachineID-1].Status)
			}
		})
	}
}

func isSubset(a, b []string) bool {
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

// The scenarios of the Linux fixtures, read as a current Windows and an old
// one record them.
func TestWindowsScenarios(t *testing.T) {
	tests := []struct {
		name string
		base machine
		now  []change
		same bool
		why  string
	}{
		{"server: RAM upgrade", rackServer, []change{ramUpgrade}, true, "reaches the threshold"},
		{"server: disk replaced", rackServer, []change{diskReplaced}, true, "reaches the threshold"},
		{"server: disk added", rackServer, []change{diskAdded}, true, "reaches the threshold"},
		{"server: NIC added", rackServer, []change{nicAdded}, true, "reaches the threshold"},
		{"server: renamed", rackServer, []change{renamed}, true, "reaches the threshold"},
		{"server: domain joined", rackServer, []change{domainJoined}, true, "reaches the threshold"},
		{"server: re-imaged", rackServer, []change{reimaged}, true, "reaches the threshold"},
		{"server: BIOS update", rackServer, []change{biosUpdate}, true, "reaches the threshold"},
		{"server: all the small changes at once", rackServer, []change{ramUpgrade, diskReplaced, diskAdded, nicAdded, renamed, domainJoined, reimaged, biosUpdate}, true, "reaches the threshold"},
		{"server: CPU replaced", rackServer, []change{func(m *machine) { m.CPUModel = "Intel(R) Xeon(R) Gold 6354 CPU @ 3.00GHz" }}, false, "cpu changed"},
		{"server: motherboard replaced", rackServer, []change{boardReplaced}, false, "board-serial changed"},
		{"server: another unit with a cloned image", rackServer, []change{sameModelOtherUnit, clonedImage(rackServer)}, false, "board-serial changed"},
		{"laptop: RAM upgrade", laptop, []change{ramUpgrade}, true, "reaches the threshold"},
		{"laptop: its only disk replaced", laptop, []change{diskReplaced}, true, "reaches the threshold"},
		{"laptop: re-imaged, renamed, joined a domain", laptop, []change{reimaged, renamed, domainJoined}, true, "reaches the threshold"},
		{"laptop: CPU replaced", laptop, []change{cpuReplaced}, false, "cpu changed"},
		{"laptop: motherboard replaced", laptop, []change{boardReplaced}, false, "board-serial changed"},
		{"vm: NIC added", vm, []change{func(m *machine) {
			m.NICs = append(m.NICs, nic{Name: "Ethernet 2", MAC: "52:54:00:44:10:02", PCI: "0000:02:00.0"})
		}}, true, "reaches the threshold"},
		{"vm: cloned", vm, []change{vmCloned}, false, "system-uuid changed"},
	}
	for _, form := range []winForm{{}, {old: true}} {
		for _, tc := range tests {
			label := "current Windows"
			if form.old {
				label = "old Windows"
			}
			t.Run(label+"/"+tc.name, func(t *testing.T) {
				enrolled := collectWindows(t, tc.base, form).Digest(scope)
				current := collectWindows(t, apply(tc.base, tc.now...), form).Digest(scope)
				r := fingerprint.Match(enrolled, current, &fingerprint.DefaultPolicy)
				if r.Same != tc.same || !strings.Contains(r.Reason(), tc.why) {
					t.Errorf("same device = %v, want %v because %q\n%s", r.Same, tc.same, tc.why, r.String())
				}
			})
		}
	}
}
