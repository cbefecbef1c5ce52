package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// checkTargets refuses, as bad usage, an argument that is not a well-formed
// lic_, act_ or key_ ID, before anything is changed.
func checkTargets(args []string) error {
	for _, s := range args {
		if err := checkTarget(s); err != nil {
			return usageError{err.Error()}
		}
	}
	return nil
}

func checkTarget(s string) (err error) {
	switch {
	case strings.HasPrefix(s, "lic_"):
		_, err = license.ParseID(s)
	case strings.HasPrefix(s, "act_"):
		_, err = activation.ParseID(s)
	case strings.HasPrefix(s, "key_"):
		_, err = license.ParseKeyID(s)
	default:
		err = fmt.Errorf("%w: %q", issuer.ErrBadID, s)
	}
	return err
}

func cmdRevoke(e *env, args []string) error {
	fs := e.flags("revoke", "--ledger DB [--reason R] [--at TIME] [--json] ID...", `
Revokes licenses (lic_...), activations (act_...) or signing keys (key_...)
that the ledger recorded; an ID it has no record of is refused. Revoking
again is reported as already revoked (exit 0). Reasons: unspecified,
refunded, abuse, leaked, superseded; for keys also key-compromise (every
token the key signed is refused) and retired (tokens it signs after --at are
refused; earlier ones stay valid). A revocation --at a future time takes
effect then: lists published before it do not carry it. The revocation
reaches machines with the next 'seatkey crl'. --json prints JSON Lines.`)
	ledgerPath := ledgerFlag(fs)
	reasonName := fs.String("reason", "unspecified", "why (see above)")
	at := fs.String("at", "", "effective `TIME` (default now); for retired keys, the retirement time")
	jsonOut := fs.Bool("json", false, "print JSON Lines: one object per ID")
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
	if err := checkTargets(fs.Args()); err != nil {
		return err
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		return e.perArg(fs.Args(), *jsonOut, func(id string) (string, string, error) {
			already, err := l.Revoke(id, reason, when)
			switch {
			case err != nil:
				return "", "", err
			case already:
				return "", "already revoked", nil
			case when.After(e.now()):
				return "", "revoked (" + reason.String() + "), effective " + when.UTC().Format(time.RFC3339), nil
			}
			return "", "revoked (" + reason.String() + ")", nil
		})
	})
}

func cmdUnrevoke(e *env, args []string) error {
	fs := e.flags("unrevoke", "--ledger DB [--json] ID...", `
Takes revocations back. Recorded in the ledger; the next list omits them. An
ID that is not revoked is reported as such (exit 0); one the ledger has no
record of is refused.`)
	ledgerPath := ledgerFlag(fs)
	jsonOut := fs.Bool("json", false, "print JSON Lines: one object per ID")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("need at least one ID")
	}
	if err := checkTargets(fs.Args()); err != nil {
		return err
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		return e.perArg(fs.Args(), *jsonOut, func(id string) (string, string, error) {
			if err := l.Unrevoke(id); errors.Is(err, issuer.ErrNotRevoked) {
				return "", "not revoked", nil
			} else if err != nil {
				return "", "", err
			}
			return "", "unrevoked", nil
		})
	})
}

// defaultCRLValidity suits air-gapped customers, who get a new list only with
// an update: a list stays current for 90 days before verifiers call it stale.
const defaultCRLValidity = "90d"

func cmdCRL(e *env, args []string) error {
	fs := e.flags("crl", "--key NAME.key --ledger DB [--vendor V] [--valid-for DURATION] -o FILE", `
Signs the next revocation list (sequence one higher than the last) with every
revocation in force in the ledger, and writes it armored to FILE. Ship it to
machines with your updates; verifiers refuse what it revokes, refuse an older
list than one they have seen, and warn (or refuse) once it is past its next
update. --valid-for is 90 days unless given (as 30d or 36h): air-gapped
machines that see a list only with an update should not find it stale.`)
	key, passFile := keyFlags(fs, ", one that verifiers still trust and that is not revoked")
	ledgerPath := ledgerFlag(fs)
	vendor := fs.String("vendor", "", "vendor `NAME` (default: the key file's base name)")
	validFor := fs.String("valid-for", defaultCRLValidity, "`DURATION` until the next update is due (90d, 36h)")
	out := fs.StringP("output", "o", "", "write the list to `FILE`")
	force := forceFlag(fs)
	jsonOut := fs.Bool("json", false, "print what was published as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *out == "" || fs.NArg() != 0 {
		return usagef("need --key, --ledger and -o FILE")
	}
	validity, err := parseValidity("valid-for", *validFor)
	if err != nil {
		return err
	}
	if *vendor == "" {
		*vendor = strings.TrimSuffix(filepath.Base(*key), ".key")
	}
	if *out != "-" && !*force {
		if err := refuseExisting(*out); err != nil {
			return err
		}
	}
	sk, err := e.loadKey(*key, *passFile)
	if err != nil {
		return err
	}
	var tok []byte
	var list *license.Revocations
	if err := e.withLedger(*ledgerPath, func(l *issuer.Ledger) (err error) {
		tok, list, err = l.PublishRevocationList(sk, *vendor, validity)
		return err
	}); err != nil {
		return err
	}
	if err := e.writeOutput(*out, license.Armor(license.TypeRevocation, tok), *force); err != nil {
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
