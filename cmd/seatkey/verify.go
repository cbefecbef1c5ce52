package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

func cmdVerify(e *env, args []string) error {
	fs := e.flags("verify", "--pub NAME.pub [--pub ...] [--product P] [--version X.Y.Z --release-date DATE] [--at TIME] [--state FILE] LICENSE", `
Verifies a license offline, exactly as package verifier does inside a vendor's
application, and prints what it grants. Exit 0 when valid; 1 when refused,
with the reason on standard error.`)
	pubs := fs.StringArray("pub", nil, "trusted public key `FILE` (repeat for several keys)")
	product := fs.String("product", "", "the running product; without it any product is accepted")
	version := fs.String("version", "", "running product `VERSION` (X.Y.Z) for the entitlement check")
	released := fs.String("release-date", "", "release `DATE` of that version")
	at := fs.String("at", "", "verify as at `TIME` (YYYY-MM-DD or RFC 3339; default now)")
	state := fs.String("state", "", "state `FILE` that detects a clock set back")
	features := fs.StringArray("feature", nil, "feature `F` that must be licensed (repeat)")
	crl := fs.String("crl", "", "revocation list `FILE` to apply")
	refuseStale := fs.Bool("refuse-stale", false, "refuse, rather than warn, when the revocation list is past its next update")
	actFile := fs.String("activation", "", "also verify the activation `FILE` against this machine")
	root := fs.String("root", "", "with --activation: read hardware from `DIR`")
	tpm := fs.String("tpm", "", "with --activation: TPM device or socket `PATH`, or none")
	jsonOut := fs.Bool("json", false, "print the verified license as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("need exactly one LICENSE file")
	}
	if len(*pubs) == 0 {
		return usagef("need at least one --pub")
	}
	var files [][]byte
	for _, p := range *pubs {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, b)
	}
	keys, err := verifier.ParseKeyring(files...)
	if err != nil {
		return err
	}
	o := verifier.Options{Keys: keys, Product: *product, AnyProduct: *product == "", Version: *version, State: *state, Features: *features}
	if o.Now, err = parseTime("at", *at, false); err != nil {
		return err
	}
	if o.ReleaseDate, err = parseTime("release-date", *released, false); err != nil {
		return err
	}
	if *crl != "" {
		b, err := readInput(*crl)
		if err != nil {
			return err
		}
		if o.Revocations, err = verifier.ParseRevocationList(b, keys); err != nil {
			return fmt.Errorf("revocation list refused: %w", err)
		}
		o.RefuseStale = *refuseStale
	}
	tok, err := readInput(fs.Arg(0))
	if err != nil {
		return err
	}
	if *actFile != "" {
		return e.verifyActivation(tok, *actFile, *root, *tpm, o, *jsonOut)
	}
	lic, err := verifier.Verify(tok, o)
	if err != nil {
		return fmt.Errorf("license refused: %w", err)
	}
	for _, w := range lic.Warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	t := &license.Token{KeyID: lic.KeyID, Type: license.TypeLicense, Claims: lic.Claims, Size: tokenSize(tok)}
	if *jsonOut {
		m := tokenJSON(t)
		m["valid"] = true
		if lic.Warnings != nil {
			m["warnings"] = lic.Warnings
		}
		return e.printJSON(m)
	}
	exp := "never expires"
	if !lic.Expires.IsZero() {
		exp = "expires " + lic.Expires.Format(time.RFC3339)
	}
	fmt.Fprintf(e.stdout, "valid: %s %s for %s, %d seat(s), features [%s], %s, %s\n", lic.Product, lic.Edition, lic.Customer, lic.Seats, strings.Join(lic.Features, ", "), lic.Kind, exp)
	return nil
}

func tokenSize(b []byte) int {
	raw, err := license.Decode(license.TypeLicense, b)
	if err != nil {
		return len(b)
	}
	return len(raw)
}

func (e *env) verifyActivation(tok []byte, actFile, root, tpm string, o verifier.Options, jsonOut bool) error {
	act, err := readInput(actFile)
	if err != nil {
		return err
	}
	t, err := license.Inspect(tok)
	if err != nil {
		return fmt.Errorf("license refused: %w", err)
	}
	p, err := machine.Collect(machine.Options{Root: root, TPM: tpm})
	if err != nil {
		return err
	}
	for _, n := range p.Notes {
		fmt.Fprintln(e.stderr, "note:", n)
	}
	a, err := verifier.VerifyActivation(tok, act, p.Digest(t.Claims.Product), o)
	if err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	if jsonOut {
		m := tokenJSON(&license.Token{KeyID: a.KeyID, Type: license.TypeLicense, Claims: a.Claims, Size: tokenSize(tok)})
		m["valid"], m["device"], m["activation"], m["overage"], m["match"] = true, a.Activation.Device, a.Activation.ID, a.Activation.Overage, a.Match
		return e.printJSON(m)
	}
	fmt.Fprintf(e.stdout, "valid: %s %s for %s on device %s (%s)\n", a.Product, a.Edition, a.Customer, a.Activation.Device, a.Match.Reason())
	return nil
}
