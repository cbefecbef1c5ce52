package fingerprint_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestDigestVectorIndependently recomputes digests of the first fingerprint
// vector with crypto/hmac exactly as SPEC.md section 9.3 words it, and finds
// them in the committed fingerprint read with generic CBOR decoding: the
// vectors cannot drift with the code that regenerates them (-update).
func TestDigestVectorIndependently(t *testing.T) {
	b, err := os.ReadFile("../testdata/vectors/fingerprint.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs struct {
		Scope string `json:"scope"`
		Pairs []struct {
			Enrolled struct {
				Components map[string][]string `json:"components"`
			} `json:"enrolled_profile"`
			EnrolledFP string `json:"enrolled_fingerprint"`
		} `json:"pairs"`
	}
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	v := vs.Pairs[0]
	raw, err := hex.DecodeString(v.EnrolledFP)
	if err != nil {
		t.Fatal(err)
	}
	var fp map[any]any
	if err := cbor.Unmarshal(raw, &fp); err != nil {
		t.Fatal(err)
	}
	if fp[uint64(1)] != vs.Scope || vs.Scope != "ledgerpro" {
		t.Fatalf("scope %v", fp[uint64(1)])
	}
	comps, ok := fp[uint64(2)].(map[any]any)
	if !ok {
		t.Fatalf("components: %T", fp[uint64(2)])
	}
	k := sha256.Sum256([]byte("seatkey fingerprint v1\x00" + vs.Scope))
	digest := func(name, value string) []byte {
		m := hmac.New(sha256.New, k[:])
		m.Write([]byte(name + "\x00" + value))
		return m.Sum(nil)[:16]
	}
	// Values already in normal form (section 9.2), with their wire numbers (9.1).
	for _, tc := range []struct {
		name   string
		number uint64
		value  string
	}{
		{"system-serial", 5, "7XK2PL3"},
		{"nics", 9, "b0:7b:25:d4:3e:11"},
		{"hostname", 11, "db-prod-01"},
	} {
		if !slices.Contains(v.Enrolled.Components[tc.name], tc.value) {
			t.Fatalf("vector profile has no %s %q", tc.name, tc.value)
		}
		ds, ok := comps[tc.number].([]any)
		if !ok {
			t.Fatalf("component %d (%s) missing from the fingerprint", tc.number, tc.name)
		}
		want := digest(tc.name, tc.value)
		found := false
		for _, d := range ds {
			if b, _ := d.([]byte); hmac.Equal(b, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s %q: HMAC-SHA256 digest %x not among %x", tc.name, tc.value, want, ds)
		}
	}
}
