package machine

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

const vectorFile = "../testdata/vectors/fingerprint.json"

type fpVectors struct {
	Comment string     `json:"comment"`
	Scope   string     `json:"scope"`
	Policy  string     `json:"default_policy"`
	Pairs   []fpVector `json:"pairs"`
}

type fpVector struct {
	Name       string            `json:"name"`
	Enrolled   json.RawMessage   `json:"enrolled_profile"`
	Current    json.RawMessage   `json:"current_profile"`
	EnrolledFP string            `json:"enrolled_fingerprint"`
	Same       bool              `json:"same_device"`
	Score      uint32            `json:"score_permille"`
	Missing    string            `json:"missing_required,omitempty"`
	Statuses   map[string]string `json:"statuses"`
}

// vectorPair is a fixture machine, enrolled, then changed.
type vectorPair struct {
	name string
	base machine
	now  []change
}

var vectorPairs = []vectorPair{
	{"server, several small changes", rackServer, []change{ramUpgrade, diskReplaced, nicAdded, renamed, biosUpdate}},
	{"server, motherboard replaced", rackServer, []change{boardReplaced}},
	{"vm cloned, not root", apply(vm, nonRoot), []change{vmCloned, nonRoot}},
	{"server, enrolled as root, read without root now", rackServer, []change{nonRoot}},
	{"server, five NICs where two were", rackServer, []change{nicAdded, nicsAdded(2)}},
	{"laptop not root, five NICs, disk and one NIC replaced: exactly the threshold", apply(laptop, nonRoot, nicsAdded(4)), []change{diskReplaced, nicReplaced}},
	{"vm not root, more memory: exactly the minimum evidence", apply(vm, nonRoot), []change{ramUpgrade}},
}

// nicsAdded adds n permanent NICs.
func nicsAdded(n int) change {
	return func(m *machine) {
		for i := 0; i < n; i++ {
			m.NICs = append(m.NICs, nic{Name: fmt.Sprintf("enp%ds0", 10+i), MAC: fmt.Sprintf("3c:fd:fe:10:20:%02x", 0x30+i), PCI: fmt.Sprintf("0000:%02x:00.0", 0x60+i)})
		}
	}
}

// nicReplaced gives the last NIC a new card.
func nicReplaced(m *machine) { m.NICs[len(m.NICs)-1].MAC = "3c:fd:fe:99:88:77" }

func collectProfile(t *testing.T, m machine) *fingerprint.Profile {
	dir := t.TempDir()
	if err := m.write(dir); err != nil {
		t.Fatal(err)
	}
	p, err := Collect(Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	p.Notes = nil
	return p
}

// The profiles in the shared fingerprint vectors are what the fixture trees
// read as; -update-fixtures writes the vectors afresh from the trees.
func TestFingerprintVectorsFromTrees(t *testing.T) {
	if *updateFixtures {
		pol, _ := fingerprint.DefaultPolicy.MarshalBinary()
		vs := fpVectors{Comment: "seatkey fingerprint vectors (SPEC.md): digest each profile with the scope, match enrolled against current under the default policy.",
			Scope: scope, Policy: hex.EncodeToString(pol)}
		for _, v := range vectorPairs {
			collect := func(m machine) (json.RawMessage, *fingerprint.Fingerprint) {
				p := collectProfile(t, m)
				b, _ := json.Marshal(p)
				return b, p.Digest(scope)
			}
			ej, ef := collect(v.base)
			cj, cf := collect(apply(v.base, v.now...))
			r := fingerprint.Match(ef, cf, &fingerprint.DefaultPolicy)
			fb, _ := ef.MarshalBinary()
			st := map[string]string{}
			for _, c := range r.Components {
				if c.Status != fingerprint.Absent {
					st[c.Component.String()] = c.Status.String()
				}
			}
			var missing string
			if r.MissingRequired != 0 {
				missing = r.MissingRequired.String()
			}
			vs.Pairs = append(vs.Pairs, fpVector{Name: v.name, Enrolled: ej, Current: cj, EnrolledFP: hex.EncodeToString(fb), Same: r.Same, Score: r.Score, Missing: missing, Statuses: st})
		}
		b, _ := json.MarshalIndent(vs, "", "  ")
		if err := os.WriteFile(vectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs fpVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	var profiles [][2]json.RawMessage
	for _, p := range vs.Pairs {
		profiles = append(profiles, [2]json.RawMessage{p.Enrolled, p.Current})
	}
	checkTreesReadAsVectors(t, vectorPairs, profiles)
}

// checkTreesReadAsVectors checks that each pair's fixture trees, enrolled
// and changed, read as the profiles its vector records.
func checkTreesReadAsVectors(t *testing.T, pairs []vectorPair, profiles [][2]json.RawMessage) {
	t.Helper()
	if len(profiles) != len(pairs) {
		t.Fatalf("%d vector pairs, %d fixture pairs", len(profiles), len(pairs))
	}
	for i, v := range pairs {
		for j, m := range []machine{v.base, apply(v.base, v.now...)} {
			want, err := fingerprint.ParseProfileJSON(profiles[i][j])
			if err != nil {
				t.Fatal(err)
			}
			if got := collectProfile(t, m); !reflect.DeepEqual(got.Values, want.Values) {
				t.Errorf("%s: the fixture tree reads as\n%v\nthe vector says\n%v", v.name, got.Values, want.Values)
			}
		}
	}
}
