package machine

import (
	"github.com/seatkey/seatkey/fingerprint"
	"strings"
	"testing"
)

const scope = "ledgerpro"

// collectMachine writes m as a tree and reads it back through ghw.
func collectMachine(t testing.TB, m machine) *fingerprint.Fingerprint {
	t.Helper()
	dir := t.TempDir()
	if err := m.write(dir); err != nil {
		t.Fatal(err)
	}
	p, err := Collect(Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	return p.Digest(scope)
}

type change func(*machine)

func apply(m machine, cs ...change) machine {
	m = m.clone()
	for _, c := range cs {
		c(&m)
	}
	return m
}

var (
	ramUpgrade   = func(m *machine) { m.MemGiB *= 2 }
	diskReplaced = func(m *machine) {
		m.Disks[len(m.Disks)-1-countRemovable(m)].Serial = "S4EWNX0R999001"
		m.Disks[len(m.Disks)-1-countRemovable(m)].WWN = "0x5002538e40ffff01"
	}
	diskAdded = func(m *machine) {
		m.Disks = append(m.Disks, disk{Name: "sdx", Dev: "65:112", Serial: "ZL2ABC12", WWN: "0x5000c500d1e2f3a4", Model: "ST4000NM0035", Rotational: true})
	}
	nicAdded = func(m *machine) {
		m.NICs = append(m.NICs, nic{Name: "ens5f0", MAC: "3c:fd:fe:a1:b2:c3", PCI: "0000:5e:00.0"})
	}
	renamed      = func(m *machine) { m.Hostname = "renamed-host" }
	domainJoined = func(m *machine) { m.Domain = "corp.example.com" }
	reimaged     = func(m *machine) { m.MachineID = "ffeeddccbbaa99887766554433221100"; m.Hostname = "fresh-install" }
	biosUpdate   = func(m *machine) {
		m.DMI["bios_version"] += "-u1"
		m.DMI["bios_date"] = "06/30/2025"
		m.Microcode = "0xd000404" // microcode changes cpuinfo flags, not the processor
	}
	cpuReplaced   = func(m *machine) { m.CPUModel = strings.Replace(m.CPUModel, "i7-1365U", "i5-1345U", 1) + " v2" }
	boardReplaced = func(m *machine) {
		// A service replacement: new board serial, new UUID, new onboard NICs;
		// the OEM re-flashes the system serial (service tag) onto the new board.
		m.DMI["board_serial"] = "NEWBOARD0042"
		m.DMI["product_uuid"] = "0f0e0d0c-0b0a-0908-0706-050403020100"
		for i := range m.NICs {
			if !m.NICs[i].Virtual {
				m.NICs[i].MAC = m.NICs[i].MAC[:9] + "77:88:9" + string(rune('0'+i))
			}
		}
	}
	// sameModelOtherUnit is another machine of the same model: every identity differs.
	sameModelOtherUnit = func(m *machine) {
		for _, k := range []string{"product_serial", "board_serial"} {
			if m.DMI[k] != "" {
				m.DMI[k] = "OTHER" + m.DMI[k][len(m.DMI[k])/2:]
			}
		}
		m.DMI["product_uuid"] = "a0a1a2a3-b4b5-c6c7-d8d9-e0e1e2e3e4e5"
		for i := range m.Disks {
			if m.Disks[i].Serial != "" {
				m.Disks[i].Serial = "X" + m.Disks[i].Serial[1:]
			}
			if m.Disks[i].WWN != "" {
				m.Disks[i].WWN = m.Disks[i].WWN[:len(m.Disks[i].WWN)-4] + "99" + m.Disks[i].WWN[len(m.Disks[i].WWN)-2:]
			}
		}
		for i := range m.NICs {
			m.NICs[i].MAC = m.NICs[i].MAC[:9] + "0" + m.NICs[i].MAC[10:]
			if m.NICs[i].MAC[9:] == "0"+m.NICs[i].MAC[10:] {
				m.NICs[i].MAC = m.NICs[i].MAC[:9] + "e" + m.NICs[i].MAC[10:]
			}
		}
		m.Hostname, m.MachineID = "other-host", "00112233445566778899aabbccddeeff"
	}
	// clonedImage keeps the OS identity of the original: host name and machine ID.
	clonedImage = func(orig machine) change {
		return func(m *machine) { m.Hostname, m.MachineID = orig.Hostname, orig.MachineID }
	}
	// vmCloned: a hypervisor copy gets a new UUID and MAC, keeps everything else.
	vmCloned = func(m *machine) {
		m.DMI["product_uuid"] = "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
		m.NICs[0].MAC = "52:54:00:1f:e2:07"
	}
	// nonRoot: the root-only DMI files cannot be read (ghw reports "unknown").
	nonRoot = func(m *machine) {
		delete(m.DMI, "board_serial")
		delete(m.DMI, "product_serial")
		delete(m.DMI, "product_uuid")
	}
)

func countRemovable(m *machine) int {
	n := 0
	for _, d := range m.Disks {
		if d.Removable {
			n++
		}
	}
	return n
}

func TestScenarios(t *testing.T) {
	tests := []struct {
		name     string
		base     machine
		enrolled []change // applied to base before enrolment
		now      []change // applied to the enrolled machine
		same     bool
		why      string // in the result's reason
	}{
		{"server: RAM upgrade", rackServer, nil, []change{ramUpgrade}, true, "reaches the threshold"},
		{"server: disk replaced", rackServer, nil, []change{diskReplaced}, true, "reaches the threshold"},
		{"server: disk added", rackServer, nil, []change{diskAdded}, true, "reaches the threshold"},
		{"server: NIC added", rackServer, nil, []change{nicAdded}, true, "reaches the threshold"},
		{"server: renamed", rackServer, nil, []change{renamed}, true, "reaches the threshold"},
		{"server: domain joined", rackServer, nil, []change{domainJoined}, true, "reaches the threshold"},
		{"server: re-imaged", rackServer, nil, []change{reimaged}, true, "reaches the threshold"},
		{"server: BIOS and microcode update", rackServer, nil, []change{biosUpdate}, true, "reaches the threshold"},
		{"server: several small changes at once", rackServer, nil, []change{ramUpgrade, diskReplaced, diskAdded, nicAdded, renamed, domainJoined, reimaged, biosUpdate}, true, "reaches the threshold"},
		{"server: CPU replaced", rackServer, nil, []change{func(m *machine) { m.CPUModel = "Intel(R) Xeon(R) Gold 6354 CPU @ 3.00GHz" }}, false, "cpu changed"},
		{"server: motherboard replaced", rackServer, nil, []change{boardReplaced}, false, "board-serial changed"},
		{"server: a different machine of the same model", rackServer, nil, []change{sameModelOtherUnit}, false, "board-serial changed"},
		{"server: a different machine with a cloned OS image", rackServer, nil, []change{sameModelOtherUnit, clonedImage(rackServer)}, false, "board-serial changed"},
		{"server: a different model", rackServer, nil, []change{func(m *machine) { *m = laptop.clone() }}, false, "changed, and it decides"},
		{"server: not root now (enrolled as root)", rackServer, nil, []change{nonRoot}, false, "board-serial was read at activation but cannot be read now"},
		{"server: not root, same machine, RAM and disk changed", rackServer, []change{nonRoot}, []change{ramUpgrade, diskReplaced}, true, "reaches the threshold"},
		{"server: not root, a different machine of the same model", rackServer, []change{nonRoot}, []change{sameModelOtherUnit, nonRoot}, false, "below the threshold"},
		{"laptop: RAM upgrade", laptop, nil, []change{ramUpgrade}, true, "reaches the threshold"},
		{"laptop: its only disk replaced", laptop, nil, []change{diskReplaced}, true, "reaches the threshold"},
		{"laptop: re-imaged and renamed", laptop, nil, []change{reimaged, renamed}, true, "reaches the threshold"},
		{"laptop: BIOS update, new disk, more RAM, joined a domain", laptop, nil, []change{biosUpdate, diskReplaced, ramUpgrade, domainJoined}, true, "reaches the threshold"},
		{"laptop: CPU replaced", laptop, nil, []change{cpuReplaced}, false, "cpu changed"},
		{"laptop: motherboard replaced", laptop, nil, []change{boardReplaced}, false, "board-serial changed"},
		{"laptop: a different machine with a cloned OS image", laptop, nil, []change{sameModelOtherUnit, clonedImage(laptop)}, false, "board-serial changed"},
		{"vm: more memory", vm, nil, []change{ramUpgrade}, true, "reaches the threshold"},
		{"vm: NIC added", vm, nil, []change{func(m *machine) {
			m.NICs = append(m.NICs, nic{Name: "enp2s0", MAC: "52:54:00:44:10:02", PCI: "0000:02:00.0"})
		}}, true, "reaches the threshold"},
		{"vm: re-imaged", vm, nil, []change{reimaged}, true, "reaches the threshold"},
		{"vm: cloned", vm, nil, []change{vmCloned}, false, "system-uuid changed"},
		{"vm: cloned, not root", vm, []change{nonRoot}, []change{vmCloned, nonRoot}, false, "below the threshold"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enrolledMachine := apply(tc.base, tc.enrolled...)
			enrolled := collectMachine(t, enrolledMachine)
			current := collectMachine(t, apply(enrolledMachine, tc.now...))
			r := fingerprint.Match(enrolled, current, &fingerprint.DefaultPolicy)
			if r.Same != tc.same || !strings.Contains(r.Reason(), tc.why) {
				t.Errorf("same device = %v, want %v because %q\n%s", r.Same, tc.same, tc.why, r.String())
			}
			if tc.name == "server: a different machine of the same model" && (r.Components[fingerprint.Disks-1].Current != 2 || r.Components[fingerprint.Disks-1].Shared != 0) {
				t.Errorf("the other unit should have 2 disks, none shared: %+v", r.Components[fingerprint.Disks-1])
			}
			// Matching must not depend on which side is which for these rules,
			// except that a component enrolled and missing now is a refusal
			// (SPEC 9.4) while one added now is not.
			if back := fingerprint.Match(current, enrolled, &fingerprint.DefaultPolicy); back.Same != r.Same && r.MissingRequired == 0 {
				t.Errorf("asymmetric: %v one way, %v the other", r.Same, back.Same)
			}
		})
	}
}

// Software attributes never decide: a policy cannot give them weight, and
// changing all of them alone keeps the device.
func TestSoftwareNeverDecides(t *testing.T) {
	p := fingerprint.DefaultPolicy
	p.Rules[fingerprint.Hostname] = fingerprint.Rule{Weight: 5}
	if err := p.Validate(); err == nil {
		t.Fatal("policy weighting the host name accepted")
	}
	a := collectMachine(t, rackServer)
	b := collectMachine(t, apply(rackServer, renamed, reimaged, domainJoined))
	r := fingerprint.Match(a, b, &fingerprint.DefaultPolicy)
	if !r.Same || r.Score != 1000 {
		t.Fatalf("software changes altered the score: %s", r.String())
	}
	for _, c := range []fingerprint.Component{fingerprint.Hostname, fingerprint.MachineID} {
		if r.Components[c-1].Status != fingerprint.Changed {
			t.Errorf("%s should show as changed in the explanation", c)
		}
	}
	if r.Components[fingerprint.Domain-1].Status != fingerprint.Added {
		t.Errorf("domain should show as added, got %s", r.Components[fingerprint.Domain-1].Status)
	}
}
