package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/license"
)

// inspect reads every kind of file in every form: binary activations and
// revocation lists as well as their armored and single-line forms.
func TestInspectEveryForm(t *testing.T) {
	dir := t.TempDir()
	load := func(file string, v any) {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vectors", file))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	var act struct{ Valid []struct{ Token string } }
	var rev struct{ Valid struct{ Token string } }
	load("activation.json", &act)
	load("revocation.json", &rev)
	for _, tc := range []struct {
		typ, hexToken, want string
	}{
		{license.TypeActivation, act.Valid[0].Token, "activation (not verified)"},
		{license.TypeRevocation, rev.Valid.Token, "revocation list (not verified)"},
	} {
		bin, _ := hex.DecodeString(tc.hexToken)
		for form, data := range map[string][]byte{"binary": bin, "armored": license.Armor(tc.typ, bin), "line": []byte(license.Line(tc.typ, bin) + "\r\n")} {
			p := filepath.Join(dir, form)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if r := runCLI(t, nil, "inspect", p); r.code != 0 || !strings.Contains(r.stdout, tc.want) {
				t.Errorf("inspect %s %s: %+v", form, tc.typ, r)
			}
		}
	}
	os.WriteFile(filepath.Join(dir, "odd"), []byte("-----BEGIN SEATKEY WIDGET-----\nAQ==\n-----END SEATKEY WIDGET-----\n"), 0o644)
	if r := runCLI(t, nil, "inspect", filepath.Join(dir, "odd")); r.code != 1 || !strings.Contains(r.stderr, "armor") {
		t.Errorf("unknown label: %+v", r)
	}
}
