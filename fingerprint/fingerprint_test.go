package fingerprint

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		c       Component
		in, out string
	}{
		{BoardSerial, "To Be Filled By O.E.M.", ""},
		{BoardSerial, "  default   string ", ""},
		{SystemSerial, "0000000000", ""},
		{SystemUUID, "00000000-0000-0000-0000-000000000000", ""},
		{SystemUUID, "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", ""},
		{SystemUUID, "4C4C4544-0058-4B10", "4c4c4544-0058-4b10"},
		{BoardSerial, " cn1234  x ", "CN1234 X"},
		{NICs, "00:00:00:00:00:00", ""},
		{NICs, "B0:7B:25:D4:3E:10", "b0:7b:25:d4:3e:10"},
		{Hostname, "DB-Prod-01", "db-prod-01"},
		{CPU, "unknown", ""},
	}
	for _, tc := range tests {
		if got := Normalize(tc.c, tc.in); got != tc.out {
			t.Errorf("Normalize(%s, %q) = %q, want %q", tc.c, tc.in, got, tc.out)
		}
	}
}

func TestKeyedDigests(t *testing.T) {
	p := &Profile{}
	p.Set(BoardSerial, "7XK2PL3")
	p.Set(NICs, "b0:7b:25:d4:3e:10", "b0:7b:25:d4:3e:11")
	a, b := p.Digest("ledgerpro"), p.Digest("otherproduct")
	if a.Components[BoardSerial][0] == b.Components[BoardSerial][0] {
		t.Fatal("two scopes give the same digest: vendors could correlate machines")
	}
	bin, _ := a.MarshalBinary()
	if bytes.Contains(bin, []byte("7XK2PL3")) || bytes.Contains(a.Armor(), []byte("7XK2PL3")) {
		t.Fatal("raw serial in the fingerprint")
	}
	if r := Match(a, b, &DefaultPolicy); r.Same || !strings.Contains(r.Reason(), "scope") {
		t.Fatalf("cross-scope match: %+v", r)
	}
}

func TestFingerprintRoundTrip(t *testing.T) {
	f, _ := serverPair(t)
	for _, in := range [][]byte{f.Armor(), mustBinary(t, f)} {
		g, err := ParseFingerprint(in)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f, g) { // Match ignores components missing on one side: compare whole values
			t.Fatalf("round trip changed the fingerprint:\n%+v\n%+v", f, g)
		}
	}
	bin := mustBinary(t, f)
	var w wireFingerprint
	cborx.Unmarshal(bin, &w)
	w.Components[uint8(CPU)] = append(w.Components[uint8(CPU)], bytes.Repeat([]byte{0xff}, 16))
	bad, _ := cborx.Marshal(w)
	if _, err := ParseFingerprint(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("two values for a single component: %v", err)
	}
	w.Components[uint8(CPU)] = w.Components[uint8(CPU)][:1]
	w.Components[99] = [][]byte{make([]byte, 16)}
	bad, _ = cborx.Marshal(w)
	if _, err := ParseFingerprint(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown component: %v", err)
	}
}

func mustBinary(t testing.TB, f *Fingerprint) []byte {
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPolicyRoundTrip(t *testing.T) {
	b, err := DefaultPolicy.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePolicy(b)
	if err != nil || *p != DefaultPolicy {
		t.Fatalf("policy round trip: %v", err)
	}
	bad := DefaultPolicy
	bad.Threshold = 0
	if _, err := bad.MarshalBinary(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("threshold 0: %v", err)
	}
}

func TestProfileJSON(t *testing.T) {
	b, err := os.ReadFile("testdata/profiles/server.json")
	if err != nil {
		t.Fatal(err)
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	var q Profile
	if err := json.Unmarshal(again, &q); err != nil || !reflect.DeepEqual(p, q) {
		t.Fatalf("JSON round trip changed the profile: %v\n%+v\n%+v", err, p, q)
	}
	for _, bad := range []string{`{"components":{"cpux":["a"]}}`, `{"components":{},"extra":1}`, `{"components":{}} {}`} {
		if _, err := ParseProfileJSON([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzParseFingerprint(f *testing.F) {
	p := &Profile{}
	p.Set(CPU, "x")
	p.Set(Disks, "a", "b")
	b, _ := p.Digest("s").MarshalBinary()
	f.Add(b)
	f.Add(p.Digest("s").Armor())
	f.Fuzz(func(t *testing.T, b []byte) {
		fp, err := ParseFingerprint(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, cborx.ErrUnknownField) && !strings.Contains(err.Error(), "armor") {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		again, err := fp.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		// Exact round trip: the binary inside (armored or not) re-encodes to
		// the same bytes, and parses back to the same value.
		inner := b
		if armor.Is(b) {
			if inner, err = armor.Decode(labelFingerprint, b); err != nil {
				t.Fatalf("accepted armor that does not decode: %v", err)
			}
		}
		if !bytes.Equal(again, inner) {
			t.Fatalf("accepted fingerprint does not re-encode identically:\n in %x\nout %x", inner, again)
		}
		fp2, err := ParseFingerprint(again)
		if err != nil || !reflect.DeepEqual(fp, fp2) {
			t.Fatalf("re-encoded fingerprint parses differently: %v", err)
		}
		Match(fp, fp, &DefaultPolicy) // must not panic
	})
}

func FuzzParsePolicy(f *testing.F) {
	b, _ := DefaultPolicy.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		again, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted policy does not re-encode identically: %v", err)
		}
	})
}

func FuzzProfileJSON(f *testing.F) {
	f.Add([]byte(`{"components":{"cpu":["GenuineIntel|x"],"nics":["b0:7b:25:d4:3e:10"]},"notes":["n"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfileJSON(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		for c, vs := range p.Values {
			if !c.valid() || len(vs) == 0 || (!c.IsSet() && len(vs) != 1) {
				t.Fatalf("accepted a bad profile: %v", p.Values)
			}
			// Stored values are normalised, sorted and unique: normalising
			// is idempotent.
			for i, v := range vs {
				if v == "" || Normalize(c, v) != v || (i > 0 && vs[i-1] >= v) {
					t.Fatalf("%s values not normalised, sorted and unique: %q", c, vs)
				}
			}
		}
		// Exact round trip of the value: written and read back, the same profile;
		// written again, the same bytes.
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		q, err := ParseProfileJSON(out)
		if err != nil || !reflect.DeepEqual(p.Values, q.Values) || !slices.Equal(p.Notes, q.Notes) {
			t.Fatalf("profile JSON round trip changed it: %v\n%+v\n%+v", err, p, q)
		}
		if out2, _ := json.Marshal(q); !bytes.Equal(out, out2) {
			t.Fatalf("profile JSON not stable:\n%s\n%s", out, out2)
		}
		// The digest is a function of the values alone.
		if d1, d2 := p.Digest("s"), q.Digest("s"); !reflect.DeepEqual(d1, d2) {
			t.Fatal("same profile, different fingerprints")
		}
	})
}
