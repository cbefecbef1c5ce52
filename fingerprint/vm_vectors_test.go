package fingerprint

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

const vmVectorFile = "../testdata/vectors/fingerprint-vm.json"

type vmVectors struct {
	Scope         string `json:"scope"`
	DefaultPolicy string `json:"default_policy"`
	VMPolicy      string `json:"vm_policy"`
	Pairs         []struct {
		Name       string            `json:"name"`
		Enrolled   json.RawMessage   `json:"enrolled_profile"`
		Current    json.RawMessage   `json:"current_profile"`
		EnrolledFP string            `json:"enrolled_fingerprint"`
		Platform   string            `json:"platform"`
		Policy     string            `json:"policy"`
		Same       bool              `json:"same_device"`
		Score      uint32            `json:"score_permille"`
		Missing    string            `json:"missing_required"`
		Statuses   map[string]string `json:"statuses"`
	} `json:"pairs"`
}

// TestVMVectors checks the VM and container vectors from their JSON profiles
// alone: digests, the platform read back from a digest, the policy it picks,
// and the match under that policy.
func TestVMVectors(t *testing.T) {
	b, err := os.ReadFile(vmVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs vmVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	dp, _ := DefaultPolicy.MarshalBinary()
	vp, _ := VMPolicy.MarshalBinary()
	if hex.EncodeToString(dp) != vs.DefaultPolicy || hex.EncodeToString(vp) != vs.VMPolicy {
		t.Fatal("policy encodings differ from the vectors")
	}
	seen := map[bool]int{}
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
		if got := PlatformOf(ef); got != v.Platform {
			t.Errorf("%s: platform %q, want %q", v.Name, got, v.Platform)
		}
		want := map[string]Policy{"vm": VMPolicy, "default": DefaultPolicy}[v.Policy]
		p := PolicyFor(ef)
		if *p != want {
			t.Errorf("%s: PolicyFor did not pick the %s policy", v.Name, v.Policy)
		}
		r := Match(ef, cp.Digest(vs.Scope), p)
		if r.Same != v.Same || r.Score != v.Score {
			t.Errorf("%s: same %v score %d, want %v %d", v.Name, r.Same, r.Score, v.Same, v.Score)
		}
		if got := ""; r.MissingRequired != 0 || v.Missing != "" {
			if r.MissingRequired != 0 {
				got = r.MissingRequired.String()
			}
			if got != v.Missing {
				t.Errorf("%s: missing-required %q, want %q", v.Name, got, v.Missing)
			}
		}
		for _, c := range r.Components {
			if c.Status != Absent && v.Statuses[c.Component.String()] != c.Status.String() {
				t.Errorf("%s: %s is %s, want %s", v.Name, c.Component, c.Status, v.Statuses[c.Component.String()])
			}
		}
		seen[r.Same]++
	}
	if seen[true] < 2 || seen[false] < 2 {
		t.Errorf("the vectors should hold both decisions: %v", seen)
	}
}
