package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

func cmdDemo(e *env, args []string) error {
	fs := e.flags("demo", "[--dir DIR]", `
Runs the whole flow on embedded defaults, with nothing to set up: a vendor key
(encrypted), a license, inspection, offline verification, this machine's
hardware fingerprint and its comparison, and the refusals a tampered or
misused license gets. Each step is the real CLI command, shown as
you would type it.`)
	dir := fs.String("dir", "", "work in `DIR` (default: a new temporary directory, removed afterwards)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "seatkey-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(*dir, name) }
	pass := p("passphrase")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		return err
	}
	step := 0
	do := func(title string, wantExit int, args ...string) (string, error) {
		step++
		if title == "" {
			fmt.Fprintf(e.stdout, "$ seatkey %s\n", shellJoin(args))
		} else {
			fmt.Fprintf(e.stdout, "\n== %d. %s\n$ seatkey %s\n", step, title, shellJoin(args))
		}
		var out bytes.Buffer
		code := run(args, io.MultiWriter(&out, e.stdout), e.stdout, e.getenv)
		if wantExit == anyExit {
			if code != 0 {
				fmt.Fprintln(e.stdout, "(this machine shows too little hardware identity to be recognised: a container or VM without serials, disks or NICs; on real hardware this is 'same device')")
			}
			return out.String(), nil
		}
		if code != wantExit {
			return "", fmt.Errorf("step %d (%s): exit %d, expected %d", step, title, code, wantExit)
		}
		if wantExit != 0 {
			fmt.Fprintf(e.stdout, "(exit %d, as expected)\n", code)
		}
		return out.String(), nil
	}
	steps := []struct {
		title string
		exit  int
		args  []string
	}{
		{"Vendor creates its signing key", 0, []string{"keygen", "-o", p("acme"), "--passphrase-file", pass}},
		{"Vendor creates its ledger (an embedded SQLite file, mode 0600)", 0, []string{"ledger", "init", "--ledger", p("ledger.db")}},
		{"Vendor mints a 25-seat subscription and records it in its ledger (an embedded SQLite file)", 0, []string{"mint", "--key", p("acme.key"), "--passphrase-file", pass, "--vendor", "Acme Software",
			"--product", "ledgerpro", "--customer", "Globex Corp", "--edition", "enterprise", "--seats", "25", "--failover", "2",
			"--expires", "2099-12-31", "--major", "4", "--feature", "api,reports,sso", "--ledger", p("ledger.db"),
			"--overage", "allow", "--overage-price", "50", "--contact", "it@globex.example", "-o", p("globex.lic")}},
		{"Anyone can read what the license says", 0, []string{"inspect", p("globex.lic")}},
		{"The customer's air-gapped server verifies it offline", 0, []string{"verify", "--pub", p("acme.pub"), "--product", "ledgerpro",
			"--version", "4.2.0", "--state", p("state"), p("globex.lic")}},
		{"The customer's machine: its hardware fingerprint (digests only; raw serials stay on the machine)", 0, []string{"fingerprint", "--scope", "ledgerpro", "-o", p("this-machine.fp")}},
		{"Later: is this still the same device?", anyExit, []string{"fingerprint", "--compare", p("this-machine.fp")}},
		{"The customer's machine asks to be activated (a file carried to the vendor: air-gapped works)", 0, []string{"request", "--license", p("globex.lic"), "--label", "demo-server", "-o", p("demo-server.req")}},
		{"Vendor activates it: a seat is taken in the ledger, an activation file comes back", 0, []string{"activate", "--key", p("acme.key"), "--passphrase-file", pass, "--ledger", p("ledger.db"), "-o", p("activations"), p("demo-server.req")}},
		{"Re-imaged and asking again: the same device, no second seat", 0, []string{"request", "--license", p("globex.lic"), "--label", "demo-server (reinstalled)", "-o", p("again.req")}},
		{"", 0, []string{"activate", "--key", p("acme.key"), "--passphrase-file", pass, "--ledger", p("ledger.db"), "-o", p("activations"), p("again.req")}},
		{"The vendor's usage report", 0, []string{"report", "--ledger", p("ledger.db"), "--csv"}},
		{"The same license for another product is refused", 1, []string{"verify", "--pub", p("acme.pub"), "--product", "inventorypro", p("globex.lic")}},
	}
	for _, s := range steps {
		if _, err := do(s.title, s.exit, s.args...); err != nil {
			return err
		}
	}
	acts, _ := filepath.Glob(p("activations/*.act"))
	if len(acts) != 1 {
		return fmt.Errorf("expected one activation file, found %d", len(acts))
	}
	if _, err := do("The customer's machine verifies license and activation offline, against its own hardware", anyExit,
		"verify", "--pub", p("acme.pub"), "--product", "ledgerpro", "--activation", acts[0], p("globex.lic")); err != nil {
		return err
	}
	// Tamper: raise the seat count inside the armored file.
	lic, err := os.ReadFile(p("globex.lic"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(p("tampered.lic"), tamper(lic), 0o644); err != nil {
		return err
	}
	if _, err := do("A license edited by hand is refused", 1, "verify", "--pub", p("acme.pub"), "--product", "ledgerpro", p("tampered.lic")); err != nil {
		return err
	}
	if _, err := do("A clock set back a year is caught by the state file", 1, "verify", "--pub", p("acme.pub"), "--product", "ledgerpro",
		"--state", p("state"), "--at", "2025-01-01", p("globex.lic")); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\ndemo complete: %d steps as expected\n", step)
	return nil
}

// anyExit marks a demo step whose outcome depends on this machine's hardware.
const anyExit = -1

// tamper flips one base64 character in the middle of an armored license.
func tamper(armored []byte) []byte {
	b := bytes.Clone(armored)
	lines := bytes.Split(b, []byte("\n"))
	line := lines[2]
	i := len(line) / 2
	if line[i] == 'A' {
		line[i] = 'B'
	} else {
		line[i] = 'A'
	}
	return b
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
