package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seatkey/seatkey/attest"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

func cmdVerify(e *env, args []string) error {
	fs := e.flags("verify", "--pub NAME.pub [--pub ...] --product P [--version X.Y.Z --release-date DATE] [--at TIME] [--state FILE] [--json] LICENSE", `
Verifies a license offline, exactly as package verifier does inside a vendor's
application, and prints what it grants. Exit 0 when valid; 1 when refused,
with the reason on standard error (with --json, also a JSON object
{"valid": false, "error": ...} on standard output). --at checks a moment other
than now and never writes the state file (a dry run: it is read, not written).`)
	pubs := fs.StringArray("pub", nil, "trusted public key `FILE` (repeat for several keys)")
	product := fs.String("product", "", "the running `PRODUCT` the license must be for (required)")
	version := fs.String("version", "", "running product `VERSION` (X.Y.Z) for the entitlement check")
	released := fs.String("release-date", "", "release `DATE` of that version")
	at := fs.String("at", "", "verify as at `TIME` (YYYY-MM-DD or RFC 3339; default now); never writes --state")
	state := fs.String("state", "", "state `FILE` that detects a clock set back")
	features := fs.StringArray("feature", nil, "feature `F` that must be licensed (repeat)")
	crl := fs.String("crl", "", "revocation list `FILE` to apply")
	refuseStale := fs.Bool("refuse-stale", false, "refuse, rather than warn, when the revocation list is past its next update")
	requireCRL := fs.Bool("require-crl", false, "once this machine has seen a revocation list, refuse to verify without one")
	maxCRLAge := fs.Duration("max-crl-age", 0, "refuse a revocation list issued longer ago than `DURATION` (e.g. 720h)")
	reset := fs.String("state-reset", "", "apply a vendor-signed state reset `FILE` (see seatkey state-reset)")
	actFile := fs.String("activation", "", "also verify the activation `FILE` against this machine")
	root := fs.String("root", "", "with --activation: read hardware from `DIR`")
	tpm := fs.String("tpm", "", "with --activation: TPM device or socket `PATH`, or none")
	jsonOut := fs.Bool("json", false, "print the result as JSON, a refusal included")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("need exactly one LICENSE file")
	}
	if len(*pubs) == 0 {
		return usagef("need at least one --pub")
	}
	if *product == "" {
		return usagef("need --product: a verifier must check what the license is for (seatkey inspect shows any license)")
	}
	o := verifier.Options{Product: *product, Version: *version, State: *state, Features: *features,
		RequireRevocationList: *requireCRL, MaxRevocationListAge: *maxCRLAge, DryRun: *at != ""}
	if *reset != "" {
		b, err := e.readInput(*reset)
		if err != nil {
			return err
		}
		o.StateReset = b
	}
	var err error
	if o.Now, err = parseTime("at", *at, false); err != nil {
		return err
	}
	if o.ReleaseDate, err = parseTime("release-date", *released, false); err != nil {
		return err
	}
	err = e.verify(fs.Arg(0), *pubs, *crl, *refuseStale, *actFile, *root, *tpm, o, *jsonOut)
	if err != nil && *jsonOut {
		var ue usageError
		if !errors.As(err, &ue) {
			e.printJSON(map[string]any{"valid": false, "error": err.Error()})
		}
	}
	return err
}

func (e *env) verify(licFile string, pubs []string, crl string, refuseStale bool, actFile, root, tpm string, o verifier.Options, jsonOut bool) error {
	var files [][]byte
	for _, p := range pubs {
		b, err := e.readInput(p)
		if err != nil {
			return err
		}
		files = append(files, b)
	}
	keys, err := verifier.ParseKeyring(files...)
	if err != nil {
		return err
	}
	o.Keys = keys
	if crl != "" {
		b, err := e.readInput(crl)
		if err != nil {
			return err
		}
		if o.Revocations, err = verifier.ParseRevocationList(b, keys); err != nil {
			return fmt.Errorf("revocation list refused: %w", err)
		}
		o.RefuseStale = refuseStale
	}
	tok, err := e.readInput(licFile)
	if err != nil {
		return err
	}
	if actFile != "" {
		return e.verifyActivation(tok, actFile, root, tpm, o, jsonOut)
	}
	lic, err := verifier.Verify(tok, o)
	if err != nil {
		return fmt.Errorf("license refused: %w", err)
	}
	for _, w := range lic.Warnings {
		fmt.Fprintln(e.stderr, "warning:", w)
	}
	t := &license.Token{KeyID: lic.KeyID, Type: license.TypeLicense, Claims: lic.Claims, Size: tokenSize(tok)}
	if jsonOut {
		m := tokenJSON(t)
		m["valid"] = true
		if lic.Warnings != nil {
			m["warnings"] = lic.Warnings
		}
		return e.printJSON(m)
	}
	exp := "never expires"
	if !lic.Expires.IsZero() {
		exp = "valid " + through(lic.Expires)
	}
	fmt.Fprintf(e.stdout, "valid: %s %s for %s, %d seat(s), features [%s], %s, %s\n", esc(lic.Product), esc(lic.Edition), esc(lic.Customer),
		lic.Seats, esc(strings.Join(lic.Features, ", ")), lic.Kind, exp)
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
	act, err := e.readInput(actFile)
	if err != nil {
		return err
	}
	t, err := license.Inspect(tok)
	if err != nil {
		return fmt.Errorf("license refused: %w", err)
	}
	p, err := e.collect(root, tpm)
	if err != nil {
		return err
	}
	if tpm != "none" && len(p.Values[fingerprint.TPMEK]) > 0 {
		// A TPM-bound activation asks this TPM to prove it (SPEC.md 13).
		conn, err := machine.OpenTPM(tpm)
		if err != nil {
			return err
		}
		defer conn.Close()
		o.TPM = attest.NewDevice(conn)
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
	fmt.Fprintf(e.stdout, "valid: %s %s for %s on device %s (%s)\n", esc(a.Product), esc(a.Edition), esc(a.Customer), a.Activation.Device, a.Match.Reason())
	return nil
}
