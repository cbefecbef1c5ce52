package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/seatkey/seatkey/license"
)

func init() {
	commands["revoke"] = command{"revoke licenses, activations or signing keys (recorded in the ledger)", cmdRevoke}
	commands["unrevoke"] = command{"take revocations back (recorded; the next list omits them)", cmdUnrevoke}
	commands["crl"] = command{"publish the next signed revocation list", cmdCRL}
}

func cmdRevoke(e *env, args []string) error {
	fs := e.flags("revoke", "--ledger DB [--reason R] [--at TIME] ID...", `
Revokes licenses (lic_...), activations (act_...) or signing keys (key_...).
Revoking again changes nothing. Reasons: unspecified, refunded, abuse, leaked,
superseded; for keys also key-compromise (every token the key signed is
refused) and retired (tokens it signs after --at are refused; earlier ones
stay valid). The revocation reaches machines with the next 'seatkey crl'.`)
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	reasonName := fs.String("reason", "unspecified", "why (see above)")
	at := fs.String("at", "", "effective `TIME` (default now); for retired keys, the retirement time")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("need at least one ID")
	}
	reason, err := license.ParseReason(*reasonName)
	if err != nil {
		return usageError{err.Error()}
	}
	when, err := parseTime("at", *at, false)
	if err != nil {
		return err
	}
	l, err := openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	var errs []error
	for _, id := range fs.Args() {
		already, err := l.Revoke(id, reason, when)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		case already:
			fmt.Fprintf(e.stdout, "%s: already revoked\n", id)
		default:
			fmt.Fprintf(e.stdout, "%s: revoked (%s)\n", id, reason)
		}
	}
	return errors.Join(errs...)
}

func cmdUnrevoke(e *env, args []string) error {
	fs := e.flags("unrevoke", "--ledger DB ID...", `Takes revocations back. Recorded in the ledger; the next list omits them.`)
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("need at least one ID")
	}
	l, err := openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	var errs []error
	for _, id := range fs.Args() {
		if err := l.Unrevoke(id); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
			continue
		}
		fmt.Fprintf(e.stdout, "%s: unrevoked\n", id)
	}
	return errors.Join(errs...)
}

func cmdCRL(e *env, args []string) error {
	fs := e.flags("crl", "--key NAME.key --ledger DB [--vendor V] [--valid-for DURATION] -o FILE", `
Signs the next revocation list (sequence one higher than the last) with every
revocation in the ledger, and writes it armored to FILE. Ship it to machines
with your updates; verifiers refuse what it revokes, refuse an older list than
one they have seen, and warn (or refuse) once it is past its next update.`)
	key := fs.String("key", "", "signing key `FILE` (one that verifiers still trust and that is not revoked)")
	passFile := fs.String("passphrase-file", "", "passphrase `FILE` (or $SEATKEY_PASSPHRASE)")
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	vendor := fs.String("vendor", "", "vendor `NAME` (default: the key file's base name)")
	validFor := fs.Duration("valid-for", 7*24*time.Hour, "time until the next update is due")
	out := fs.StringP("output", "o", "", "write the list to `FILE`")
	jsonOut := fs.Bool("json", false, "print what was published as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *out == "" || fs.NArg() != 0 || *validFor <= 0 {
		return usagef("need --key, --ledger, a positive --valid-for and -o FILE")
	}
	if *vendor == "" {
		*vendor = strings.TrimSuffix(filepath.Base(*key), ".key")
	}
	sk, err := e.loadKey(*key, *passFile)
	if err != nil {
		return err
	}
	l, err := openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	tok, list, err := l.PublishRevocationList(sk, *vendor, *validFor)
	if err != nil {
		return err
	}
	if err := e.writeOutput(*out, license.Armor(license.TypeRevocation, tok)); err != nil {
		return err
	}
	nl, na, nk := list.Len()
	if *jsonOut {
		return e.printJSON(map[string]any{"sequence": list.Sequence, "next_update": list.NextUpdate, "licenses": nl, "activations": na, "keys": nk, "size": len(tok), "kid": sk.ID()})
	}
	fmt.Fprintf(e.stderr, "published revocation list %d (%d licenses, %d activations, %d keys; %d bytes), next update due %s\n",
		list.Sequence, nl, na, nk, len(tok), list.NextUpdate.Format(time.RFC3339))
	return nil
}
