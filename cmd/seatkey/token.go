package main

import (
	"fmt"
	"time"

	"github.com/seatkey/seatkey/issuer"
)

func cmdToken(e *env, args []string) error {
	fs := e.flags("token", "create --ledger DB --name NAME --scope read|write | list --ledger DB [--json] | revoke --ledger DB --name NAME", `
Manages the API tokens vendors use with 'seatkey serve' (Authorization: Bearer).
create prints the new token once on standard output: the ledger keeps only its
SHA-256 hash, so it cannot be shown again. Scope read sees customers,
licenses, devices and reports; write may also revoke, unsuspend and publish
revocation lists. revoke stops a token at once.`)
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	name := fs.String("name", "", "token `NAME` (who or what uses it)")
	scope := fs.String("scope", "", "read or write")
	validFor := fs.Duration("valid-for", 0, "the token expires after this `DURATION` (such as 2160h); 0: never")
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("need one of create, list, revoke")
	}
	switch fs.Arg(0) {
	case "create":
		if *name == "" || (*scope != "read" && *scope != "write") || *validFor < 0 {
			return usagef("create needs --name, --scope read|write and a --valid-for that is not negative")
		}
	case "revoke":
		if *name == "" {
			return usagef("revoke needs --name")
		}
	case "list":
	default:
		return usagef("unknown token action %q: create, list or revoke", fs.Arg(0))
	}
	l, err := e.openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	switch fs.Arg(0) {
	case "create":
		secret, err := l.CreateAPIToken(*name, issuer.Scope(*scope), *validFor)
		if err != nil {
			return err
		}
		if *jsonOut {
			return e.printJSON(map[string]string{"name": *name, "scope": *scope, "token": secret})
		}
		fmt.Fprintln(e.stdout, secret)
		fmt.Fprintf(e.stderr, "created %s token %q; this is the only time it is shown\n", *scope, *name)
		return nil
	case "revoke":
		if err := l.RevokeAPIToken(*name); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "revoked token %q\n", *name)
		return nil
	}
	ts, err := l.APITokens()
	if err != nil {
		return err
	}
	if *jsonOut {
		if ts == nil {
			ts = []issuer.APIToken{}
		}
		return e.printJSON(ts)
	}
	for _, t := range ts {
		state, until := "live", "never expires"
		if t.Expires != nil {
			until = "expires " + t.Expires.Format("2006-01-02 15:04")
			if !time.Now().Before(*t.Expires) {
				state = "expired"
			}
		}
		if t.Revoked {
			state = "revoked"
		}
		fmt.Fprintf(e.stdout, "%-24q %-5s %-7s created %s, %s\n", t.Name, t.Scope, state, t.CreatedAt.Format("2006-01-02 15:04"), until)
	}
	return nil
}
