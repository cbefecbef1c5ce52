package fingerprint

import (
	"reflect"
	"testing"
)

// boundaryPolicy makes the arithmetic exact: two identity components of
// weights 6 and 4, threshold 60%, minimum evidence 10 (both compared).
func boundaryPolicy() Policy {
	var p Policy
	p.Threshold = 60
	p.MinEvidence = 10
	p.Rules[BoardSerial] = Rule{Weight: 6}
	p.Rules[SystemSerial] = Rule{Weight: 4}
	return p
}

// boundaryPair: the board serial still matches (6 of 10 = exactly 60%), the
// system serial changed (not decisive), and both are compared (evidence
// exactly 10).
func boundaryPair() (enrolled, current *Fingerprint) {
	a, b := &Profile{}, &Profile{}
	a.Set(BoardSerial, "BOARD-1")
	b.Set(BoardSerial, "BOARD-1")
	a.Set(SystemSerial, "SYS-OLD")
	b.Set(SystemSerial, "SYS-NEW")
	return a.Digest("s"), b.Digest("s")
}

// A score exactly on the threshold and evidence exactly on the minimum are
// the same device (SPEC: "at least"). Each subtest sits on one boundary with
// the other one clear, then one step past it; so comparing either with '>'
// instead of '>=' fails a named subtest.
func TestMatchBoundariesCustomPolicy(t *testing.T) {
	a, b := boundaryPair()
	t.Run("score exactly at threshold", func(t *testing.T) {
		p := boundaryPolicy()
		p.MinEvidence = 1 // evidence clear of its boundary
		r := Match(a, b, &p)
		if r.Earned != 6000 || r.Compared != 10000 || r.Score != 600 {
			t.Fatalf("arithmetic: earned %d compared %d score %d", r.Earned, r.Compared, r.Score)
		}
		if !r.Same {
			t.Fatalf("exactly 60%% under a 60%% threshold must match: %s", r.String())
		}
		p.Threshold = 61
		if r := Match(a, b, &p); r.Same {
			t.Fatalf("60%% under a 61%% threshold must not match: %s", r.String())
		}
	})
	t.Run("evidence exactly at minimum", func(t *testing.T) {
		p := boundaryPolicy()
		p.Threshold = 50 // score clear of its boundary
		r := Match(a, b, &p)
		if r.Evidence != 10 {
			t.Fatalf("evidence %d, want 10", r.Evidence)
		}
		if !r.Same {
			t.Fatalf("evidence 10 with minimum 10 must decide: %s", r.String())
		}
		p.MinEvidence = 11
		if r := Match(a, b, &p); r.Same {
			t.Fatalf("evidence 10 with minimum 11 must not decide: %s", r.String())
		}
	})
	t.Run("both exactly on their boundaries", func(t *testing.T) {
		p := boundaryPolicy()
		if r := Match(a, b, &p); !r.Same {
			t.Fatalf("60%% and evidence 10 under (60%%, 10): %s", r.String())
		}
	})
}

// A round trip through every wire form gives back the whole fingerprint,
// software components included (they never count in Match, so a Match score
// cannot see them go missing).
func TestFingerprintRoundTripExact(t *testing.T) {
	p := &Profile{}
	for _, c := range Components() {
		switch {
		case c == Platform:
			p.Set(c, "vm:kvm") // a closed list of values
		case c.IsSet():
			p.Set(c, "value-1-of-"+c.String(), "value-2-of-"+c.String())
		default:
			p.Set(c, "value-of-"+c.String())
		}
	}
	f := p.Digest("ledgerpro")
	for _, c := range Components() {
		if !f.Has(c) {
			t.Fatalf("fixture lacks %s", c)
		}
	}
	bin := mustBinary(t, f)
	for name, in := range map[string][]byte{"binary": bin, "armored": f.Armor()} {
		g, err := ParseFingerprint(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(f, g) {
			t.Fatalf("%s round trip changed the fingerprint:\n%+v\n%+v", name, f, g)
		}
	}
	// Only the software components: still a fingerprint, still exact.
	s := &Profile{}
	s.Set(Hostname, "db-01")
	s.Set(MachineID, "0123456789abcdef0123456789abcdef")
	sf := s.Digest("ledgerpro")
	g, err := ParseFingerprint(mustBinary(t, sf))
	if err != nil || !reflect.DeepEqual(sf, g) {
		t.Fatalf("software-only fingerprint: %v\n%+v\n%+v", err, sf, g)
	}
	if h := f.Hardware(); h.Has(Hostname) || h.Has(Domain) || h.Has(MachineID) || !h.Has(TPMEK) {
		t.Fatalf("Hardware kept software or dropped hardware: %+v", h)
	}
}
