package fingerprint

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

const vectorFile = "../testdata/vectors/fingerprint.json"

type fpVectors struct {
	Comment string     `json:"comment"`
	Scope   string     `json:"scope"`
	Policy  string     `json:"default_policy"` // hex of the CBOR policy
	Pairs   []fpVector `json:"pairs"`
}

type fpVector struct {
	Name       string            `json:"name"`
	Enrolled   json.RawMessage   `json:"enrolled_profile"`
	Current    json.RawMessage   `json:"current_profile"`
	EnrolledFP string            `json:"enrolled_fingerprint"` // hex of the CBOR fingerprint
	Same       bool              `json:"same_device"`
	Score      uint32            `json:"score_permille"`
	Statuses   map[string]string `json:"statuses"`
}

// TestFingerprintVectors checks the shared vectors from their JSON profiles
// alone; package machine's tests make them from the fixture trees
// (-update-fixtures) and check that the trees still give those profiles.
func TestFingerprintVectors(t *testing.T) {
	b, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs fpVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	pol, _ := DefaultPolicy.MarshalBinary()
	if hex.EncodeToString(pol) != vs.Policy {
		t.Fatal("default policy encoding differs from the vectors")
	}
	if len(vs.Pairs) < 3 {
		t.Fatal("too few vectors")
	}
	for _, v := range vs.Pairs {
		ep, err := ParseProfileJSON(v.Enrolled)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := ParseProfileJSON(v.Current)
		if err != nil {
			t.Fatal(err)
		}
		ef := ep.Digest(vs.Scope)
		fb, _ := ef.MarshalBinary()
		if hex.EncodeToString(fb) != v.EnrolledFP {
			t.Errorf("%s: digests differ from the vector", v.Name)
		}
		r := Match(ef, cp.Digest(vs.Scope), &DefaultPolicy)
		if r.Same != v.Same || r.Score != v.Score {
			t.Errorf("%s: same %v score %d, want %v %d", v.Name, r.Same, r.Score, v.Same, v.Score)
		}
		for _, c := range r.Components {
			if c.Status != Absent && v.Statuses[c.Component.String()] != c.Status.String() {
				t.Errorf("%s: %s is %s, want %s", v.Name, c.Component, c.Status, v.Statuses[c.Component.String()])
			}
		}
	}
}
