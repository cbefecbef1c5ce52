package fingerprint

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// profileOf builds a profile from component values, sets as several values.
func profileOf(vs map[Component][]string) *Profile {
	p := &Profile{}
	for c, v := range vs {
		p.Set(c, v...)
	}
	return p
}

func nics(prefix string, n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, fmt.Sprintf("%s:%02x", prefix, i))
	}
	return out
}

// The decision's two comparisons sit exactly on their limits here, so that
// ">=" written as ">" (or the reverse) fails.
func TestMatchBoundaries(t *testing.T) {
	base := map[Component][]string{CPU: {"x|y"}, BoardModel: {"b|m"}, BIOS: {"v|1|d"}, Memory: {"8 GiB"}, Disks: {"sn:D1"}, NICs: nics("aa:bb:cc:dd:ee", 5)}
	enrolled := profileOf(base).Digest("s")
	tests := []struct {
		name     string
		change   map[Component][]string
		same     bool
		earned   uint32 // 0: not checked
		evidence uint32
	}{
		// 2+2+1+1 + 0 (disk) + 6*4/5 = 10.8 of 18: exactly 60 %.
		{"exactly the threshold", map[Component][]string{Disks: {"sn:D2"}, NICs: append(nics("aa:bb:cc:dd:ee", 4), "11:22:33:44:55:66")}, true, 10800, 12},
		// one thousandth of weight less: memory changed instead of kept.
		{"just below the threshold", map[Component][]string{Disks: {"sn:D2"}, Memory: {"16 GiB"}, NICs: append(nics("aa:bb:cc:dd:ee", 4), "11:22:33:44:55:66")}, false, 9800, 12},
	}
	for _, tc := range tests {
		vs := map[Component][]string{}
		for c, v := range base {
			vs[c] = v
		}
		for c, v := range tc.change {
			vs[c] = v
		}
		r := Match(enrolled, profileOf(vs).Digest("s"), &DefaultPolicy)
		if r.Same != tc.same || r.Earned != tc.earned || r.Compared != 18000 || r.Evidence != tc.evidence {
			t.Errorf("%s: same %v earned %d compared %d evidence %d\n%s", tc.name, r.Same, r.Earned, r.Compared, r.Evidence, r.String())
		}
	}

	// Evidence: NICs alone weigh 6, the minimum; system-serial alone 5.
	six := profileOf(map[Component][]string{CPU: {"x|y"}, NICs: {"aa:bb:cc:dd:ee:01"}}).Digest("s")
	if r := Match(six, six, &DefaultPolicy); !r.Same || r.Evidence != uint32(DefaultPolicy.MinEvidence) {
		t.Errorf("evidence exactly the minimum: %s", r.String())
	}
	five := profileOf(map[Component][]string{CPU: {"x|y"}, SystemSerial: {"SN1"}}).Digest("s")
	if r := Match(five, five, &DefaultPolicy); r.Same || r.Evidence != 5 || !strings.Contains(r.Reason(), "too little hardware identity") {
		t.Errorf("evidence one below the minimum: %s", r.String())
	}
}

// Sets are scored against what was enrolled, and a set that grew more than
// it kept is a changed component, whatever the smaller side holds.
func TestMatchSets(t *testing.T) {
	p := &DefaultPolicy
	enr := map[Component][]string{CPU: {"x|y"}, BoardSerial: {"B1"}, NICs: nics("aa:bb:cc:dd:ee", 2), Disks: {"sn:D1", "sn:D2", "sn:D3", "sn:D4"}}
	e := profileOf(enr).Digest("s")
	tests := []struct {
		name   string
		c      Component
		now    []string
		status Status
		earned uint32
		growth bool
	}{
		{"one NIC added", NICs, append(nics("aa:bb:cc:dd:ee", 2), "11:22:33:44:55:66"), Matched, 6000, false},
		{"as many added as kept", NICs, append(nics("aa:bb:cc:dd:ee", 2), nics("11:22:33:44:55", 2)...), Matched, 6000, false},
		{"more added than kept", NICs, append(nics("aa:bb:cc:dd:ee", 2), nics("11:22:33:44:55", 3)...), Changed, 0, true},
		{"one of two kept, other replaced", NICs, []string{"aa:bb:cc:dd:ee:00", "11:22:33:44:55:66"}, Partial, 3000, false},
		// Against the smaller set this would be 1/1, a full match.
		{"one disk of four left", Disks, []string{"sn:D1"}, Partial, 1500, false},
	}
	for _, tc := range tests {
		now := map[Component][]string{}
		for c, v := range enr {
			now[c] = v
		}
		now[tc.c] = tc.now
		r := Match(e, profileOf(now).Digest("s"), p)
		cr := r.Components[tc.c-1]
		if cr.Status != tc.status || cr.Earned != tc.earned || cr.Growth != tc.growth {
			t.Errorf("%s: %s earned %d growth %v\n%s", tc.name, cr.Status, cr.Earned, cr.Growth, r.String())
		}
		if tc.growth && !strings.Contains(r.String(), "implausible growth") {
			t.Errorf("%s: explanation does not say why:\n%s", tc.name, r.String())
		}
	}
}

// A counted component that was enrolled and cannot be read now is a refusal
// that names it, unless the policy makes it optional; an added one is not.
func TestMatchMissingRequired(t *testing.T) {
	full := profileOf(map[Component][]string{CPU: {"x|y"}, BoardModel: {"b|m"}, BoardSerial: {"B1"}, SystemUUID: {"u1"}, NICs: nics("aa:bb:cc:dd:ee", 2), TPMEK: {"rsa:01"}, Hostname: {"h"}})
	e := full.Digest("s")
	hidden := profileOf(map[Component][]string{CPU: {"x|y"}, BoardModel: {"b|m"}, NICs: nics("aa:bb:cc:dd:ee", 2), TPMEK: {"rsa:01"}})
	r := Match(e, hidden.Digest("s"), &DefaultPolicy)
	if r.Same || r.MissingRequired != BoardSerial || !r.OnlyMissing() || !r.Components[BoardSerial-1].Required ||
		!strings.Contains(r.Reason(), "board-serial was read at activation but cannot be read now") {
		t.Fatalf("hidden board serial: %v %s", r.MissingRequired, r.String())
	}
	// The host name is software: never required.
	noHost := profileOf(map[Component][]string{CPU: {"x|y"}, BoardModel: {"b|m"}, BoardSerial: {"B1"}, SystemUUID: {"u1"}, NICs: nics("aa:bb:cc:dd:ee", 2), TPMEK: {"rsa:01"}})
	if r := Match(e, noHost.Digest("s"), &DefaultPolicy); !r.Same {
		t.Fatalf("missing host name refused: %s", r.String())
	}
	// Hiding the TPM no longer turns a TPM mismatch into the same device.
	noTPM := profileOf(map[Component][]string{CPU: {"x|y"}, BoardModel: {"b|m"}, BoardSerial: {"B1"}, SystemUUID: {"u1"}, NICs: nics("aa:bb:cc:dd:ee", 2)})
	if r := Match(e, noTPM.Digest("s"), &DefaultPolicy); r.Same || r.MissingRequired != TPMEK {
		t.Fatalf("hidden TPM: %s", r.String())
	}
	pol := DefaultPolicy
	pol.Optional = 1<<BoardSerial | 1<<SystemUUID
	if r := Match(e, hidden.Digest("s"), &pol); !r.Same || r.MissingRequired != 0 {
		t.Fatalf("optional components refused: %s", r.String())
	}
	if r := Match(e, noTPM.Digest("s"), &pol); r.Same || r.MissingRequired != TPMEK {
		t.Fatalf("the TPM is not optional in this policy: %s", r.String())
	}
	// Another machine that hides its serials but shows a decisive change is
	// not "only missing".
	other := profileOf(map[Component][]string{CPU: {"other|cpu"}, NICs: nics("aa:bb:cc:dd:ee", 2)})
	if r := Match(e, other.Digest("s"), &DefaultPolicy); r.Same || r.OnlyMissing() {
		t.Fatalf("other CPU: %s", r.String())
	}
}

func TestPolicyOptionalWire(t *testing.T) {
	p := DefaultPolicy
	p.Optional = 1<<BoardSerial | 1<<TPMEK
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	q, err := ParsePolicy(b)
	if err != nil || *q != p {
		t.Fatalf("round trip: %v %+v", err, q)
	}
	def, _ := DefaultPolicy.MarshalBinary()
	if len(b) != len(def)+4 || b[0] != 0xa4 { // map(4), key 4, uint16 0x0408
		t.Fatalf("optional encoding % x", b)
	}
	for name, bad := range map[string]uint16{"bit 0": 1, "software": 1 << Hostname, "past the last component": 1 << 14} {
		p.Optional = bad
		if _, err := p.MarshalBinary(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
