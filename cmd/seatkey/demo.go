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
		fmt.Fprintf(e.stdout, "\n== %d. %s\n$ seatkey %s\n", step, title, shellJoin(args))
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
		{"Vendor mints a 25-seat subscription", 0, []string{"mint", "--key", p("acme.key"), "--passphrase-file", pass, "--vendor", "Acme Software",
			"--product", "ledgerpro", "--customer", "Globex Corp", "--edition", "enterprise", "--seats", "25", "--failover", "2",
			"--expires", "2099-12-31", "--major", "4", "--feature", "api,reports,sso", "-o", p("globex.lic")}},
		{"Anyone can read what the license says", 0, []string{"inspect", p("globex.lic")}},
		{"The customer's air-gapped server verifies it offline", 0, []string{"verify", "--pub", p("acme.pub"), "--product", "ledgerpro",
			"--version", "4.2.0", "--state", p("state"), p("globex.lic")}},
		{"The customer's machine: its hardware fingerprint (digests only; raw serials stay on the machine)", 0, []string{"fingerprint", "--scope", "ledgerpro", "-o", p("this-machine.fp")}},
		{"Later: is this still the same device?", anyExit, []string{"fingerprint", "--compare", p("this-machine.fp")}},
		{"The same license for another product is refused", 1, []string{"verify", "--pub", p("acme.pub"), "--product", "inventorypro", p("globex.lic")}},
	}
	for _, s := range steps {
		if _, err := do(s.title, s.exit, s.args...); err != nil {
			return err
		}
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
