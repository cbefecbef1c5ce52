package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb, func(k string) string { return env[k] })
	return result{code, out.String(), errb.String()}
}

func TestHelpEverywhere(t *testing.T) {
	for _, c := range commandTable() {
		r := runCLI(t, nil, c.name, "--help")
		if r.code != 0 || strings.Count(r.stdout, "Usage: seatkey "+c.name) != 1 || r.stderr != "" {
			t.Errorf("%s --help: exit %d, want the usage once on stdout: %q %q", c.name, r.code, r.stdout, r.stderr)
		}
	}
	if r := runCLI(t, nil, "--help"); r.code != 0 || !strings.Contains(r.stdout, "mint") {
		t.Errorf("top --help: %+v", r)
	}
	if r := runCLI(t, nil); r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "Usage: seatkey <command>") {
		t.Errorf("no args: usage on stderr, exit 2: %+v", r)
	}
	if r := runCLI(t, nil, "frobnicate"); r.code != 2 || strings.Contains(r.stderr, "did you mean") {
		t.Errorf("unknown command: %+v", r)
	}
	for typo, want := range map[string]string{"mnit": "mint", "verfy": "verify", "decomission": "decommission", "revok": "revoke", "DEVICES": "devices"} {
		if r := runCLI(t, nil, typo); r.code != 2 || !strings.Contains(r.stderr, `did you mean "`+want+`"?`) {
			t.Errorf("%s: want a suggestion of %s: %+v", typo, want, r)
		}
	}
	if r := runCLI(t, nil, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "seatkey ") {
		t.Errorf("--version: %+v", r)
	}
	if r := runCLI(t, nil, "mint", "--no-such-flag"); r.code != 2 {
		t.Errorf("unknown flag: exit %d", r.code)
	}
	if r := runCLI(t, nil, "mint", "--seats", "3"); r.code != 2 || !strings.Contains(r.stderr, "required") {
		t.Errorf("missing flags: %+v", r)
	}
}

func TestKeygenMintInspectVerify(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	env := map[string]string{"SEATKEY_PASSPHRASE": "s3cret"}
	r := runCLI(t, env, "keygen", "-o", p("v"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "key_") {
		t.Fatalf("keygen: %+v", r)
	}
	kid := strings.TrimSpace(r.stdout)
	if st, _ := os.Stat(p("v.key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v", st.Mode().Perm())
	}
	if r := runCLI(t, env, "keygen", "-o", p("v")); r.code != 1 {
		t.Fatalf("keygen over existing: %+v", r)
	}
	// Private key inspect shows the kid, never the key.
	r = runCLI(t, nil, "inspect", "--json", p("v.key"))
	var pk map[string]any
	json.Unmarshal([]byte(r.stdout), &pk)
	if r.code != 0 || pk["kid"] != kid || pk["encrypted"] != true || len(pk) != 3 {
		t.Fatalf("inspect private: %+v", r)
	}
	r = runCLI(t, nil, "inspect", "--json", p("v.pub"))
	json.Unmarshal([]byte(r.stdout), &pk)
	if r.code != 0 || pk["kid"] != kid || len(pk["ed25519"].(string)) != 64 {
		t.Fatalf("inspect public: %+v", r)
	}
	mint := []string{"mint", "--key", p("v.key"), "--product", "ledger", "--customer", "Globex", "--edition", "pro", "--seats", "3",
		"--expires", "2099-01-01", "--feature", "b,a", "--feature", "c", "-o", p("l.lic")}
	if r := runCLI(t, nil, mint...); r.code != 1 || !strings.Contains(r.stderr, "passphrase") {
		t.Fatalf("mint without passphrase: %+v", r)
	}
	if r := runCLI(t, env, mint...); r.code != 0 {
		t.Fatalf("mint: %+v", r)
	}
	r = runCLI(t, nil, "inspect", "--json", p("l.lic"))
	var tok map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &tok); err != nil || r.code != 0 {
		t.Fatalf("inspect license: %v %+v", err, r)
	}
	if !strings.HasPrefix(tok["id"].(string), "lic_") || tok["kid"] != kid || tok["size"].(float64) < 100 || tok["vendor"] != "v" ||
		strings.Join(toStrings(tok["features"]), ",") != "a,b,c" || tok["kind"] != "subscription" || tok["expires"] != "2099-01-02T00:00:00Z" {
		t.Fatalf("inspect license JSON: %v", tok)
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledger", "--json", p("l.lic")); r.code != 0 || !strings.Contains(r.stdout, `"valid": true`) {
		t.Fatalf("verify: %+v", r)
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "other", p("l.lic")); r.code != 1 || !strings.Contains(r.stderr, "another product") {
		t.Fatalf("verify wrong product: %+v", r)
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledger", "--at", "2100-01-01", p("l.lic")); r.code != 1 || !strings.Contains(r.stderr, "expired") {
		t.Fatalf("verify expired: %+v", r)
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledger", "--feature", "zzz", p("l.lic")); r.code != 1 || !strings.Contains(r.stderr, "zzz") {
		t.Fatalf("verify feature: %+v", r)
	}
	if r := runCLI(t, nil, "verify", p("l.lic")); r.code != 2 {
		t.Fatalf("verify without --pub: %+v", r)
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledger", "--at", "yesterday", p("l.lic")); r.code != 2 {
		t.Fatalf("bad date: %+v", r)
	}
	// The single-line form is accepted wherever a license file is.
	line := runCLI(t, nil, "inspect", p("v.pub"))
	if !strings.Contains(line.stdout, "seatkey-public-key:") {
		t.Fatalf("public key line missing: %s", line.stdout)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestDemo(t *testing.T) {
	r := runCLI(t, nil, "demo", "--dir", t.TempDir())
	if r.code != 0 || !strings.Contains(r.stdout, "demo complete") {
		t.Fatalf("demo: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
