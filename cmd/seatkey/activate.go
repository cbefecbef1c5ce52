package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/attest"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
)

// errNoHardware: a fingerprint without one hardware component cannot
// recognise the machine later; it is refused where it is made.
var errNoHardware = errors.New("no hardware component could be read (a wrong --root, or a container without hardware identity)")

// collect reads this machine (or the tree at root), prints the notes and
// refuses a profile with no hardware component.
func (e *env) collect(root, tpm string) (*fingerprint.Profile, error) {
	p, err := machine.Collect(machine.Options{Root: root, TPM: tpm})
	if err != nil {
		return nil, err
	}
	for _, n := range p.Notes {
		fmt.Fprintln(e.stderr, "note:", n)
	}
	for c := range p.Values {
		if c.Class() != fingerprint.Software && c != fingerprint.Platform { // the platform is read from anything, even nothing
			return p, nil
		}
	}
	if root != "" {
		return nil, fmt.Errorf("%s: %w", esc(root), errNoHardware)
	}
	return nil, errNoHardware
}

func cmdRequest(e *env, args []string) error {
	fs := e.flags("request", "--license FILE [--root DIR] [--tpm PATH|none] [--attest] [--label NAME] [--failover] -o FILE", `
Writes an activation request for this machine: the license, this machine's
fingerprint (digests keyed by the product; no raw serials), a label and a
nonce. Carry it to the vendor, who runs 'seatkey activate'. A machine on
which no hardware component can be read gets no request. With --attest the
machine's TPM creates an attestation key and the activation that comes back
is bound to that TPM (SPEC.md section 13): only this TPM can prove it.`)
	licFile := fs.String("license", "", "license `FILE`")
	root := fs.String("root", "", "read hardware from `DIR` (see seatkey fingerprint)")
	tpm := fs.String("tpm", "", "TPM device or socket `PATH`, or none")
	label := fs.String("label", "", "device `NAME` shown in the vendor's ledger (default: host name)")
	failover := fs.Bool("failover", false, "ask for one of the license's failover installations")
	attestFlag := fs.Bool("attest", false, "bind the activation to this machine's TPM (creates an attestation key in it)")
	out := fs.StringP("output", "o", "", "write the request to `FILE`")
	force := forceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *licFile == "" || *out == "" || fs.NArg() != 0 {
		return usagef("need --license FILE and -o FILE")
	}
	tok, err := e.readInput(*licFile)
	if err != nil {
		return err
	}
	t, err := license.Inspect(tok)
	if err != nil {
		return err
	}
	p, err := e.collect(*root, *tpm)
	if err != nil {
		return err
	}
	if *label == "" {
		if h := p.Values[fingerprint.Hostname]; len(h) > 0 {
			*label = h[0]
		} else {
			*label = "unnamed"
		}
	}
	req, err := activation.NewRequest(tok, p.Digest(t.Claims.Product), *label, *failover)
	if err != nil {
		return err
	}
	if *attestFlag {
		if *tpm == "none" || len(p.Values[fingerprint.TPMEK]) == 0 {
			return fmt.Errorf("--attest needs the machine's TPM, and none was read (see the notes above)")
		}
		conn, err := machine.OpenTPM(*tpm)
		if err != nil {
			return err
		}
		k, err := attest.NewDevice(conn).NewKey()
		conn.Close()
		if err != nil {
			return err
		}
		req.Attestation = &activation.Attestation{AK: k.Public, EK: k.EK, EKCert: k.EKCert, Handle: k.Handle}
	}
	b, err := req.Armor()
	if err != nil {
		return err
	}
	if err := e.writeOutput(*out, b, *force); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote request for %s (%s) to %s\n", t.Claims.ID, esc(*label), esc(*out))
	return nil
}

func cmdActivate(e *env, args []string) error {
	fs := e.flags("activate", "--key NAME.key --ledger DB [-o DIR] [--json] REQUEST|DIR...", `
Activates every request given (files, or directories of *.req files) against
the ledger and writes one activation file per device, DIR/dev_....act. A
device activated again gets a new activation that replaces its previous
activation file; any other existing file is left alone and the request
reported as failed. Prints one line per request (with --json, one JSON
object a line) and a summary on standard error; a request that fails does
not stop the others. Exit 1 if any request was refused.`)
	key, passFile := keyFlags(fs, "")
	ledgerPath := ledgerFlag(fs)
	out := fs.StringP("output", "o", ".", "write activation files to `DIR`")
	jsonOut := fs.Bool("json", false, "print JSON Lines: one object per request")
	ekRoots, requireEK := tpmPolicyFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *ledgerPath == "" || fs.NArg() == 0 {
		return usagef("need --key, --ledger and at least one REQUEST")
	}
	tp, err := e.tpmPolicy(*ekRoots, *requireEK)
	if err != nil {
		return err
	}
	var files []string
	for _, a := range fs.Args() {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			m, _ := filepath.Glob(filepath.Join(a, "*.req"))
			sort.Strings(m)
			files = append(files, m...)
		} else {
			files = append(files, a)
		}
	}
	sk, err := e.loadKey(*key, *passFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	counts := map[string]int{}
	failed := 0
	err = e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		l.TPM = tp
		for _, f := range files {
			r, name, err := e.activateOne(l, sk, f, *out)
			if err != nil {
				failed++
				if *jsonOut {
					e.printJSONLine(map[string]any{"request": f, "ok": false, "error": err.Error()})
				} else {
					fmt.Fprintf(e.stdout, "%s: refused: %v\n", esc(f), err)
				}
				continue
			}
			counts[string(r.Outcome)]++
			if *jsonOut {
				line := map[string]any{"request": f, "ok": true, "outcome": r.Outcome, "device": r.Device, "activation": r.Activation,
					"label": r.Label, "overage": r.Overage, "failover": r.Failover, "file": name}
				if !r.MigrationUntil.IsZero() {
					line["migration_until"] = r.MigrationUntil
				}
				if !r.Expires.IsZero() {
					line["expires"] = r.Expires
				}
				e.printJSONLine(line)
				continue
			}
			flags := ""
			if r.Overage {
				flags += " OVERAGE"
			}
			if r.Failover {
				flags += " failover"
			}
			if !r.MigrationUntil.IsZero() {
				flags += " MIGRATION until " + r.MigrationUntil.Format(time.DateOnly) + " (decommission the machine it replaces)"
			}
			fmt.Fprintf(e.stdout, "%s: %s %s %q%s\n", esc(f), r.Outcome, r.Device, r.Label, flags)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var parts []string
	for _, k := range []string{"new-device", "same-device", "recommissioned", "replayed"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d refused", failed))
	}
	fmt.Fprintf(e.stderr, "%d requests: %s\n", len(files), strings.Join(parts, ", "))
	if failed > 0 {
		return fmt.Errorf("%d of %d requests refused", failed, len(files))
	}
	return nil
}

// activateOne activates one request file and writes the device's activation
// file, replacing only an earlier activation file there.
func (e *env) activateOne(l *issuer.Ledger, sk *issuer.Key, file, dir string) (*issuer.Result, string, error) {
	b, err := e.readInput(file)
	if err != nil {
		return nil, "", err
	}
	r, err := l.Activate(sk, b)
	if err != nil {
		return nil, "", err
	}
	name := filepath.Join(dir, r.Device.String()+".act")
	replace := false
	if old, err := os.ReadFile(name); err == nil {
		label, lerr := armor.Label(old)
		replace = lerr == nil && label == "ACTIVATION" && bytes.HasPrefix(old, []byte("-----BEGIN"))
	}
	return r, name, writeFile(name, license.Armor(license.TypeActivation, r.Token), 0o644, replace)
}
