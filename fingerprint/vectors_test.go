package fingerprint

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
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
	Missing    string            `json:"missing_required,omitempty"`
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
	if len(vs.Pairs) < 7 {
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
		if missing := r.MissingRequired.String(); r.MissingRequired == 0 && v.Missing != "" || r.MissingRequired != 0 && missing != v.Missing {
			t.Errorf("%s: missing required %v, want %q", v.Name, r.MissingRequired, v.Missing)
		}
		// The boundary vectors must sit exactly on their limit, so that a
		// comparison written with the wrong operator fails them.
		if strings.Contains(v.Name, "exactly the threshold") && (!r.Same || uint64(r.Earned)*100 != uint64(r.Threshold)*uint64(r.Compared)) {
			t.Errorf("%s: earned %d of %d is not exactly %d%%", v.Name, r.Earned, r.Compared, r.Threshold)
		}
		if strings.Contains(v.Name, "exactly the minimum evidence") && (!r.Same || r.Evidence != uint32(r.MinEvidence)) {
			t.Errorf("%s: evidence %d, minimum %d", v.Name, r.Evidence, r.MinEvidence)
		}
		for _, c := range r.Components {
			if c.Status != Absent && v.Statuses[c.Component.String()] != c.Status.String() {
				t.Errorf("%s: %s is %s, want %s", v.Name, c.Component, c.Status, v.Statuses[c.Component.String()])
			}
		}
	}
}
