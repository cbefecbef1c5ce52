package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/fingerprint"
)

// runWith runs a command line with a test clock and, optionally, a terminal
// that answers passphrase prompts from answers.
func runWith(t *testing.T, now time.Time, answers []string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader(""), getenv: func(string) string { return "" },
		now: func() time.Time { return now }, terminal: func() bool { return answers != nil },
		readPassword: func() ([]byte, error) {
			if len(answers) == 0 {
				return nil, errors.New("no more answers")
			}
			a := answers[0]
			answers = answers[1:]
			return []byte(a), nil
		}}
	code := e.run(args)
	return result{code, out.String(), errb.String()}
}

// vendor sets up an unencrypted key, a ledger and a one-seat license with
// customer and label text an attacker chose.
type vendor struct {
	t     *testing.T
	dir   string
	db    string
	lic   string
	licID string
}

func (v *vendor) p(s string) string { return filepath.Join(v.dir, s) }

func newVendor(t *testing.T, customer string, seats string) *vendor {
	t.Helper()
	v := &vendor{t: t, dir: t.TempDir()}
	v.db, v.lic = v.p("ledger.db"), v.p("l.lic")
	mustRun(t, "keygen", "--unencrypted", "-o", v.p("v"))
	mustRun(t, "ledger", "init", "--ledger", v.db)
	r := mustRun(t, "mint", "--key", v.p("v.key"), "--product", "ledgerpro", "--customer", customer, "--edition", "pro", "--seats", seats,
		"--expires", "2099-12-31", "--ledger", v.db, "--overage", "allow", "-o", v.lic, "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatal(err)
	}
	v.licID = m["id"].(string)
	return v
}

func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := runCLI(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("%v: %+v", args, r)
	}
	return r
}

// activate requests and activates the fixture machine m with label.
func (v *vendor) activate(m, label string) result {
	v.t.Helper()
	req := v.p(m + ".req")
	mustRun(v.t, "request", "--license", v.lic, "--root", fixtures+m, "--label", label, "-o", req)
	return runCLI(v.t, nil, "activate", "--key", v.p("v.key"), "--ledger", v.db, "-o", v.p("acts"), req)
}

// noControls fails if s holds a byte or rune a terminal would act on.
func noControls(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range s {
		if r != '\n' && r != '\t' && needsEscape(r) || r == '\ufffd' {
			t.Fatalf("%s: %U reaches the terminal: %q", what, r, s)
		}
	}
}

const hostile = "\x1b]0;pwned\x07\x1b[2J\u202egnp.exe\r=HYPERLINK(\"http://x\")\u009b"

func TestEsc(t *testing.T) {
	for in, want := range map[string]string{
		"plain label":   "plain label",
		"a\x1b[31mred":  `a\u001b[31mred`,
		"line\r\nnext":  `line\u000d\u000anext`,
		"rtl\u202eexe":  `rtl\u202eexe`,
		"c1\u009bx":     `c1\u009bx`,
		"bad\xffutf8":   `bad\xffutf8`,
		"Zürich 東京":     "Zürich 東京",
		"iso\u2066late": `iso\u2066late`,
	} {
		if got := esc(in); got != want {
			t.Errorf("esc(%q) = %q, want %q", in, got, want)
		}
	}
	// The writer keeps lines and tabs, escapes the rest, and does not break
	// a rune split across writes.
	var b bytes.Buffer
	w := &escapingWriter{w: &b}
	in := []byte("ok\tfine\n\x1b[2J é\u202e")
	for i := range in {
		w.Write(in[i : i+1])
	}
	w.flush()
	if want := "ok\tfine\n\\u001b[2J é\\u202e"; b.String() != want {
		t.Fatalf("writer: %q, want %q", b.String(), want)
	}
}

// Customer text chosen by an attacker never reaches the vendor's terminal
// as control sequences, and never reaches the CSV report as a formula.
func TestHostileTextCLI(t *testing.T) {
	v := newVendor(t, "Evil"+hostile, "1")
	r := v.activate("server", "srv"+hostile)
	if r.code != 0 {
		t.Fatalf("activate: %+v", r)
	}
	noControls(t, "activate", r.stdout+r.stderr)
	r = v.activate("laptop", "@SUM(A1)"+hostile) // an overage device
	noControls(t, "activate overage", r.stdout+r.stderr)
	for _, args := range [][]string{
		{"inspect", v.lic},
		{"inspect", v.p("server.req")},
		{"verify", "--pub", v.p("v.pub"), "--product", "ledgerpro", v.lic},
		{"devices", "--ledger", v.db},
		{"devices", "--ledger", v.db, "--json"},
		{"report", "--ledger", v.db, "--json"},
		{"decommission", "--ledger", v.db, "srv" + hostile},
		{"fingerprint", "--root", fixtures + "server", "--scope", hostile, "--show-raw"},
		{"inspect", hostile},
	} {
		r := runCLI(t, nil, args...)
		noControls(t, strings.Join(args[:1], " "), r.stdout+r.stderr)
	}
	// JSON stays valid through the escaping and carries the exact text.
	var devs []map[string]any
	if err := json.Unmarshal([]byte(runCLI(t, nil, "devices", "--ledger", v.db, "--json").stdout), &devs); err != nil || len(devs) != 2 {
		t.Fatalf("devices --json: %v", err)
	}
	if devs[0]["label"] != "srv"+hostile && devs[1]["label"] != "srv"+hostile {
		t.Fatalf("labels changed on the way: %q %q", devs[0]["label"], devs[1]["label"])
	}
	if r := runCLI(t, nil, "decommission", "--ledger", v.db, "srv"+hostile); r.code != 0 || !strings.Contains(r.stdout, "already decommissioned") {
		t.Fatalf("decommission by label twice: %+v", r)
	}
	for _, table := range []string{"devices", "summary"} {
		r := runCLI(t, nil, "report", "--ledger", v.db, "--csv="+table)
		rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
		if r.code != 0 || err != nil || len(rows) < 2 {
			t.Fatalf("report --csv=%s: %v %+v", table, err, r)
		}
		for _, row := range rows {
			if len(row) != len(rows[0]) {
				t.Fatalf("%s: row width %d, header %d", table, len(row), len(rows[0]))
			}
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Fatalf("%s: cell %q would run as a formula", table, cell)
				}
			}
		}
	}
}

func TestOutputFiles(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	mustRun(t, "keygen", "--unencrypted", "-o", p("v"))
	mint := []string{"mint", "--key", p("v.key"), "--product", "x", "--customer", "c", "--edition", "e", "--seats", "1", "--expires", "2099-01-01", "-o", p("l.lic")}
	// A link planted where the old code put its temporary file, and a victim
	// file it pointed to.
	victim := p("victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	os.Symlink(victim, p("l.lic.tmp"))
	mustRun(t, mint...)
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("the planted link was followed: victim now %q", b)
	}
	first, _ := os.ReadFile(p("l.lic"))
	if r := runCLI(t, nil, mint...); r.code != 1 || !strings.Contains(r.stderr, "--force") {
		t.Fatalf("mint over an existing file: %+v", r)
	}
	if b, _ := os.ReadFile(p("l.lic")); !bytes.Equal(b, first) {
		t.Fatal("refused mint changed the file")
	}
	mustRun(t, append(mint, "--force")...)
	if b, _ := os.ReadFile(p("l.lic")); bytes.Equal(b, first) {
		t.Fatal("--force did not replace the file")
	}
	// A link planted at the output name itself: refused without --force,
	// replaced (not followed) with it.
	os.Symlink(victim, p("m.lic"))
	mint[len(mint)-1] = p("m.lic")
	if r := runCLI(t, nil, mint...); r.code != 1 {
		t.Fatalf("mint onto a link: %+v", r)
	}
	mustRun(t, append(mint, "--force")...)
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("--force followed the link: victim now %q", b)
	}
	if st, _ := os.Lstat(p("m.lic")); st.Mode()&os.ModeSymlink != 0 {
		t.Fatal("the link is still there")
	}
	if m, _ := filepath.Glob(p(".*tmp")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestKeygenPassphrase(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	now := time.Now()
	if r := runWith(t, now, nil, "keygen", "-o", p("a")); r.code != 2 || !strings.Contains(r.stderr, "--unencrypted") {
		t.Fatalf("no passphrase, no terminal: %+v", r)
	}
	if _, err := os.Stat(p("a.key")); err == nil {
		t.Fatal("refused keygen wrote a key")
	}
	if r := runWith(t, now, []string{"one", "two"}, "keygen", "-o", p("a")); r.code != 1 || !strings.Contains(r.stderr, "differ") {
		t.Fatalf("two different answers: %+v", r)
	}
	if r := runWith(t, now, []string{"same pass", "same pass"}, "keygen", "-o", p("a")); r.code != 0 || strings.Count(r.stderr, ": ") < 2 {
		t.Fatalf("prompted keygen: %+v", r)
	}
	if r := runCLI(t, nil, "inspect", "--json", p("a.key")); !strings.Contains(r.stdout, `"encrypted": true`) {
		t.Fatalf("prompted key not encrypted: %+v", r)
	}
	// The key is unlocked by asking once on a terminal.
	mint := []string{"mint", "--key", p("a.key"), "--product", "x", "--customer", "c", "--edition", "e", "--seats", "1", "--expires", "2099-01-01", "-o", p("l.lic")}
	if r := runWith(t, now, []string{"same pass"}, mint...); r.code != 0 {
		t.Fatalf("mint with a prompted passphrase: %+v", r)
	}
	pass := p("pass")
	os.WriteFile(pass, []byte("from a file\n"), 0o644)
	if r := runCLI(t, nil, "keygen", "-o", p("b"), "--passphrase-file", pass); r.code != 1 || !strings.Contains(r.stderr, "readable by group or others") {
		t.Fatalf("world-readable passphrase file: %+v", r)
	}
	os.Chmod(pass, 0o600)
	if r := runCLI(t, nil, "keygen", "-o", p("b"), "--passphrase-file", pass); r.code != 0 {
		t.Fatalf("0600 passphrase file: %+v", r)
	}
	if r := runCLI(t, nil, "keygen", "-o", p("c"), "--passphrase-file", pass, "--unencrypted"); r.code != 2 {
		t.Fatalf("--unencrypted with a passphrase: %+v", r)
	}
}

func TestLedgerInitAndExport(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ledger.db")
	if r := runCLI(t, nil, "devices", "--ledger", db); r.code != 1 || !strings.Contains(r.stderr, "ledger init") {
		t.Fatalf("missing ledger: %+v", r)
	}
	if _, err := os.Stat(db); err == nil {
		t.Fatal("opening a missing ledger created it")
	}
	v := newVendor(t, "Globex Corp", "2")
	if st, _ := os.Stat(v.db); st.Mode().Perm() != 0o600 {
		t.Fatalf("ledger mode %v", st.Mode().Perm())
	}
	if r := runCLI(t, nil, "ledger", "init", "--ledger", v.db); r.code != 1 {
		t.Fatalf("ledger init over a ledger: %+v", r)
	}
	r := mustRun(t, "export", "--ledger", v.db, v.licID)
	orig, _ := os.ReadFile(v.lic)
	if r.stdout != string(orig) {
		t.Fatalf("export differs from the minted file:\n%s\n%s", r.stdout, orig)
	}
	r = mustRun(t, "export", "--ledger", v.db, "--single-line", v.licID)
	if !strings.HasPrefix(r.stdout, "seatkey-license:") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("single line: %q", r.stdout)
	}
	if r := runCLI(t, nil, "inspect", "-"); r.code != 1 {
		t.Fatalf("inspect of empty stdin: %+v", r)
	}
	if r := runCLI(t, nil, "export", "--ledger", v.db, "lic_aaaaaaaaaaaaaaaaaaaaaaaaaa"); r.code != 1 || !strings.Contains(r.stderr, "unknown license") {
		t.Fatalf("export unknown: %+v", r)
	}
}

// One exit rule everywhere: 0 done or already so, 1 refused or failed, 2 usage.
func TestExitCodes(t *testing.T) {
	v := newVendor(t, "Globex Corp", "2")
	v.activate("server", "srv")
	for _, c := range []struct {
		want int
		args []string
	}{
		{2, []string{"revoke", "--ledger", v.db, "lic_nope"}},
		{2, []string{"revoke", "--ledger", v.db, "nonsense"}},
		{2, []string{"unrevoke", "--ledger", v.db, "act_nope"}},
		{2, []string{"decommission", "--ledger", v.db, "dev_nope"}},
		{2, []string{"devices", "--ledger", v.db, "--license", "lic_nope"}},
		{2, []string{"report", "--ledger", v.db, "--csv", "--license", "lic_nope"}},
		{2, []string{"export", "--ledger", v.db, "lic_nope"}},
		{2, []string{"report", "--ledger", v.db, "--csv=everything"}},
		{2, []string{"crl", "--key", v.p("v.key"), "--ledger", v.db, "--valid-for", "soon", "-o", v.p("x.crl")}},
		{1, []string{"revoke", "--ledger", v.db, "lic_aaaaaaaaaaaaaaaaaaaaaaaaaa"}},
		{1, []string{"decommission", "--ledger", v.db, "dev_aaaaaaaaaaaaaaaaaaaaaaaaaa"}},
		{1, []string{"decommission", "--ledger", v.db, "no such label"}},
		{1, []string{"unsuspend", "--ledger", v.db, "Nobody"}},
		{0, []string{"revoke", "--ledger", v.db, v.licID}},
		{0, []string{"revoke", "--ledger", v.db, v.licID}},
		{0, []string{"unrevoke", "--ledger", v.db, v.licID}},
		{0, []string{"unrevoke", "--ledger", v.db, v.licID}},
		{0, []string{"decommission", "--ledger", v.db, "srv"}},
		{0, []string{"decommission", "--ledger", v.db, "srv"}},
		{0, []string{"unsuspend", "--ledger", v.db, "globex corp"}},
		{0, []string{"devices", "--ledger", v.db, "--customer", "GLOBEX CORP"}},
	} {
		if r := runCLI(t, nil, c.args...); r.code != c.want {
			t.Errorf("%v: exit %d, want %d: %s", c.args, r.code, c.want, r.stderr)
		}
	}
	r := runCLI(t, nil, "devices", "--ledger", v.db, "--customer", "globex CORP")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "DEVICE") || !strings.Contains(lines[1], "Globex Corp") {
		t.Fatalf("devices with a header, customer without case: %q", r.stdout)
	}
}

func TestJSONLines(t *testing.T) {
	v := newVendor(t, "Globex", "2")
	v.activate("server", "srv")
	check := func(r result, n int, field string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != n {
			t.Fatalf("%d lines, want %d: %q", len(lines), n, r.stdout)
		}
		for _, l := range lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil || m[field] == nil {
				t.Fatalf("line %q: %v", l, err)
			}
		}
	}
	check(runCLI(t, nil, "revoke", "--ledger", v.db, "--json", v.licID, v.licID), 2, "outcome")
	check(runCLI(t, nil, "decommission", "--ledger", v.db, "--json", "srv", "srv"), 2, "outcome")
	mustRun(t, "request", "--license", v.lic, "--root", fixtures+"laptop", "-o", v.p("laptop.req"))
	check(runCLI(t, nil, "activate", "--key", v.p("v.key"), "--ledger", v.db, "-o", v.p("acts"), "--json", v.p("server.req"), v.p("laptop.req"), v.p("missing.req")), 3, "ok")
}

func TestVerifyJSONRefusalAndDates(t *testing.T) {
	v := newVendor(t, "Globex", "1")
	r := runCLI(t, nil, "verify", "--pub", v.p("v.pub"), "--product", "other", "--json", v.lic)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); r.code != 1 || err != nil || m["valid"] != false || !strings.Contains(m["error"].(string), "another product") {
		t.Fatalf("verify --json refusal: %v %+v", err, r)
	}
	r = mustRun(t, "verify", "--pub", v.p("v.pub"), "--product", "ledgerpro", v.lic)
	if !strings.Contains(r.stdout, "valid through 2099-12-31") {
		t.Fatalf("verify date: %q", r.stdout)
	}
	if r := mustRun(t, "inspect", v.lic); !strings.Contains(r.stdout, "through 2099-12-31") || strings.Contains(r.stdout, "2100-01-01") {
		t.Fatalf("inspect date: %q", r.stdout)
	}
}

// verify --at is a what-if check: it reads the state file and never writes it.
func TestVerifyAtLeavesState(t *testing.T) {
	v := newVendor(t, "Globex", "1")
	state := v.p("state")
	verify := func(extra ...string) result {
		return runCLI(t, nil, append([]string{"verify", "--pub", v.p("v.pub"), "--product", "ledgerpro", "--state", state}, append(extra, v.lic)...)...)
	}
	if r := verify("--at", "2099-01-01"); r.code != 0 {
		t.Fatalf("what-if next decades: %+v", r)
	}
	if _, err := os.Stat(state); err == nil {
		t.Fatal("--at created the state file")
	}
	if r := verify(); r.code != 0 {
		t.Fatalf("today, after a what-if: %+v", r)
	}
	before, _ := os.ReadFile(state)
	if r := verify("--at", "2099-01-01"); r.code != 0 {
		t.Fatalf("what-if with a state file: %+v", r)
	}
	if after, _ := os.ReadFile(state); !bytes.Equal(before, after) {
		t.Fatal("--at wrote the state file")
	}
	if r := verify(); r.code != 0 {
		t.Fatalf("today, after a what-if with state: %+v", r)
	}
	if r := verify("--at", "2020-01-01"); r.code != 1 || !strings.Contains(r.stderr, "set back") {
		t.Fatalf("what-if reads the state: %+v", r)
	}
}

func TestMintRefusals(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	mustRun(t, "keygen", "--unencrypted", "-o", p("v"))
	base := []string{"mint", "--key", p("v.key"), "--product", "x", "--customer", "c", "--edition", "e", "--seats", "1", "--expires", "2099-01-01", "-o", p("l.lic")}
	for _, extra := range [][]string{
		{"--overage", "allow"}, {"--overage-price", "10"}, {"--contact", "a@b.example"},
		{"--feature", "SSO"}, {"--feature", "Single Sign-On"}, {"--feature", "-x"}, {"--feature", strings.Repeat("a", 64)},
	} {
		if r := runCLI(t, nil, append(base, extra...)...); r.code != 2 {
			t.Errorf("mint %v: exit %d, want 2: %s", extra, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(p("l.lic")); err == nil {
		t.Fatal("a refused mint wrote a license")
	}
	mustRun(t, append(base, "--feature", "sso,reports-v2", "--feature", strings.Repeat("a", 63))...)
}

// Revocation: unknown IDs fail, and a revocation dated in the future is not
// in lists published before that time.
func TestRevokeUnknownAndFuture(t *testing.T) {
	v := newVendor(t, "Globex", "1")
	now := time.Now().UTC().Truncate(time.Second)
	at := now.Add(24 * time.Hour)
	if r := runWith(t, now, nil, "revoke", "--ledger", v.db, "--at", at.Format(time.RFC3339), v.licID); r.code != 0 || !strings.Contains(r.stdout, "effective") {
		t.Fatalf("revoke in the future: %+v", r)
	}
	crl := func(when time.Time, name string) map[string]any {
		if r := runWith(t, when, nil, "crl", "--key", v.p("v.key"), "--ledger", v.db, "-o", v.p(name)); r.code != 0 {
			t.Fatalf("crl: %+v", r)
		}
		var m map[string]any
		json.Unmarshal([]byte(mustRun(t, "inspect", "--json", v.p(name)).stdout), &m)
		return m
	}
	if m := crl(now, "before.crl"); m["licenses"] != 0.0 {
		t.Fatalf("a list before the revocation time carries it: %v", m)
	}
	m := crl(at.Add(time.Second), "after.crl")
	if m["licenses"] != 1.0 {
		t.Fatalf("a list after the revocation time lacks it: %v", m)
	}
	next, _ := time.Parse(time.RFC3339, m["next_update"].(string))
	if d := next.Sub(at.Add(time.Second)); d != 90*24*time.Hour {
		t.Fatalf("default validity %v, want 90 days", d)
	}
	if r := runCLI(t, nil, "verify", "--pub", v.p("v.pub"), "--product", "ledgerpro", "--crl", v.p("before.crl"), v.lic); r.code != 0 {
		t.Fatalf("before the revocation time: %+v", r)
	}
}

func TestRequestWithoutHardware(t *testing.T) {
	v := newVendor(t, "Globex", "1")
	out := v.p("empty.req")
	r := runCLI(t, nil, "request", "--license", v.lic, "--root", filepath.Join(v.dir, "nonexistent"), "--tpm", "none", "-o", out)
	if r.code != 1 || !strings.Contains(r.stderr, "no hardware component") {
		t.Fatalf("request without hardware: %+v", r)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a request was written")
	}
}

// --show-raw prints each digest beside the raw value it was computed from.
func TestShowRawAligned(t *testing.T) {
	r := mustRun(t, "fingerprint", "--root", fixtures+"server", "--scope", "s", "--show-raw")
	comp, n := fingerprint.Component(0), 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		f := strings.Fields(line)
		if c, err := fingerprint.ParseComponent(f[0]); err == nil {
			comp, f = c, f[1:]
		}
		raw := strings.Join(f[1:], " ")
		got, want := f[0], digestOf(comp, raw, "s")
		if got != strings.ToLower(hexOf(want[:])) {
			t.Errorf("%s: digest %s is not the digest of %q", comp, got, raw)
		}
		if comp == fingerprint.Disks {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("want the fixture's two disks, saw %d", n)
	}
	// The JSON lists raw values in the order of the digests.
	var j struct{ Components, Raw map[string][]string }
	if err := json.Unmarshal([]byte(mustRun(t, "fingerprint", "--root", fixtures+"server", "--scope", "s", "--show-raw", "--json").stdout), &j); err != nil {
		t.Fatal(err)
	}
	for name, ds := range j.Components {
		c, _ := fingerprint.ParseComponent(name)
		if len(j.Raw[name]) != len(ds) {
			t.Fatalf("%s: %d digests, %d raw values", name, len(ds), len(j.Raw[name]))
		}
		for i, d := range ds {
			if want := digestOf(c, j.Raw[name][i], "s"); d != hexOf(want[:]) {
				t.Errorf("JSON %s[%d]: digest %s is not the digest of %q", name, i, d, j.Raw[name][i])
			}
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
