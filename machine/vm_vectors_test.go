package machine

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

const vmVectorFile = "../testdata/vectors/fingerprint-vm.json"

// vmVectors is testdata/vectors/fingerprint-vm.json: pairs matched under the
// policy that PolicyFor picks from the enrolled fingerprint (SPEC.md §9.4.1).
type vmVectors struct {
	Comment       string         `json:"comment"`
	Scope         string         `json:"scope"`
	DefaultPolicy string         `json:"default_policy"`
	VMPolicy      string         `json:"vm_policy"`
	Pairs         []vmVectorPair `json:"pairs"`
}

type vmVectorPair struct {
	Name       string            `json:"name"`
	Enrolled   json.RawMessage   `json:"enrolled_profile"`
	Current    json.RawMessage   `json:"current_profile"`
	EnrolledFP string            `json:"enrolled_fingerprint"`
	Platform   string            `json:"platform"`
	Policy     string            `json:"policy"` // "vm" or "default"
	Same       bool              `json:"same_device"`
	Score      uint32            `json:"score_permille"`
	Missing    string            `json:"missing_required,omitempty"` // the first missing-required component
	Statuses   map[string]string `json:"statuses"`
}

var vmVectorPairs = []vectorPair{
	{"aws m5 resized to m6i", awsM5, []change{awsResize}},
	{"vmware moved, UUID kept, new MAC", vmwareVM, []change{newMAC("00:50:56:a3:11:0c")}},
	{"proxmox template clone", proxmoxVM, []change{vmCopy("0c9d8e7f-6a5b-4c3d-2e1f-0a9b8c7d6e5f", "", "", "bc:24:11:a0:44:17")}},
	{"gce sibling from the same template, not root", apply(gceN2, nonRoot), []change{vmCopy("", "", "", "")}},
	{"virtualbox real serials set", virtualboxVM, []change{func(m *machine) { m.DMI["product_serial"], m.DMI["board_serial"] = "VBX-7731-01", "VBX-B-7731" }}},
	{"docker, another container on the host", dockerOnServer, []change{otherContainer}},
	{"aws enrolled as root, read without root now", awsM5, []change{nonRoot}},
}

// The VM vectors are made from the fixture trees (-update-fixtures) and the
// trees must still read as their profiles.
func TestVMVectorsFromTrees(t *testing.T) {
	if *updateFixtures {
		dp, _ := fingerprint.DefaultPolicy.MarshalBinary()
		vp, _ := fingerprint.VMPolicy.MarshalBinary()
		vs := vmVectors{
			Comment: "seatkey fingerprint vectors for virtual machines and containers (SPEC.md 9.1.1, 9.2, 9.4.1): digest each profile with the scope; " +
				"the platform of the enrolled fingerprint picks the policy (vm_policy for vm:* and container:vm:*, else default_policy); match enrolled against current under it.",
			Scope: scope, DefaultPolicy: hex.EncodeToString(dp), VMPolicy: hex.EncodeToString(vp)}
		for _, v := range vmVectorPairs {
			collect := func(m machine) (json.RawMessage, *fingerprint.Fingerprint) {
				p := collectProfile(t, m)
				b, _ := json.Marshal(p)
				return b, p.Digest(scope)
			}
			ej, ef := collect(v.base)
			cj, cf := collect(apply(v.base, v.now...))
			pol := fingerprint.PolicyFor(ef)
			name := "default"
			if *pol == fingerprint.VMPolicy {
				name = "vm"
			}
			r := fingerprint.Match(ef, cf, pol)
			fb, _ := ef.MarshalBinary()
			st := map[string]string{}
			for _, c := range r.Components {
				if c.Status != fingerprint.Absent {
					st[c.Component.String()] = c.Status.String()
				}
			}
			vs.Pairs = append(vs.Pairs, vmVectorPair{Name: v.name, Enrolled: ej, Current: cj, EnrolledFP: hex.EncodeToString(fb),
				Platform: fingerprint.PlatformOf(ef), Policy: name, Same: r.Same, Score: r.Score, Statuses: st})
			if r.MissingRequired != 0 {
				vs.Pairs[len(vs.Pairs)-1].Missing = r.MissingRequired.String()
			}
		}
		b, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile(vmVectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vmVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs vmVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	var profiles [][2]json.RawMessage
	for _, p := range vs.Pairs {
		profiles = append(profiles, [2]json.RawMessage{p.Enrolled, p.Current})
	}
	checkTreesReadAsVectors(t, vmVectorPairs, profiles)
}
