package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// The license lifecycle (SPEC.md section 12): releases, renewals, edition
// upgrades, transfers, the daily sweep and the audit log.

func cmdRelease(e *env, args []string) error {
	fs := e.flags("release", "add --ledger DB --product P --version X.Y.Z --date YYYY-MM-DD", `
'seatkey release add' records a release of a product in the ledger's catalog.
A major is legacy once two newer majors are out; a new minor release of a
legacy major is refused (patches of its released minors are not).
Pre-releases (4.0.0-rc1) and build metadata (4.0.0+build.7) are versions of
their major.`)
	ledgerPath := ledgerFlag(fs)
	product := fs.String("product", "", "the product `ID`")
	version := fs.String("version", "", "the release's `VERSION`")
	date := fs.String("date", "", "the release `DATE` (YYYY-MM-DD)")
	jsonOut := fs.Bool("json", false, "print the release as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || fs.Arg(0) != "add" {
		return usagef("the only subcommand is: release add --ledger DB --product P --version X.Y.Z --date DATE")
	}
	if *product == "" || *version == "" || *date == "" {
		return usagef("need --product, --version and --date")
	}
	v, err := license.ParseVersion(*version)
	if err != nil {
		return usageError{err.Error()}
	}
	d, err := time.Parse(time.DateOnly, *date)
	if err != nil {
		return usagef("--date: %q is not YYYY-MM-DD", *date)
	}
	if err := e.withLedger(*ledgerPath, func(l *issuer.Ledger) error { return l.AddRelease(*product, v, d) }); err != nil {
		return err
	}
	if *jsonOut {
		return e.printJSON(map[string]any{"product": *product, "version": v, "released": d})
	}
	fmt.Fprintf(e.stderr, "recorded %s %s, released %s\n", esc(*product), v, d.Format(time.DateOnly))
	return nil
}

func cmdReleases(e *env, args []string) error {
	fs := e.flags("releases", "--ledger DB --product P [--license ID] [--json]", `
Lists a product's releases, oldest version first, with the ones that are
legacy now marked. With --license, also the newest release that license may
run (SPEC.md section 12.1).`)
	ledgerPath := ledgerFlag(fs)
	product := fs.String("product", "", "the product `ID`")
	licID := fs.String("license", "", "also show what license `ID` may run")
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *product == "" || fs.NArg() != 0 {
		return usagef("need --product and no arguments")
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		rs, err := l.Releases(*product)
		if err != nil {
			return err
		}
		var ent *issuer.Entitlement
		if *licID != "" {
			id, err := license.ParseID(*licID)
			if err != nil {
				return usageError{err.Error()}
			}
			tok, err := l.LicenseToken(id)
			if err != nil {
				return err
			}
			t, err := license.Inspect(tok)
			if err != nil {
				return err
			}
			if ent, err = l.Entitlement(&t.Claims); err != nil {
				return err
			}
		}
		if *jsonOut {
			out := map[string]any{"product": *product, "releases": rs}
			if ent != nil {
				out["newest_entitled"] = ent.Newest
			}
			return e.printJSON(out)
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tRELEASED\tLEGACY")
		for _, r := range rs {
			fmt.Fprintf(w, "%s\t%s\t%v\n", r.Version, r.Released.Format(time.DateOnly), r.Legacy)
		}
		w.Flush()
		if ent != nil {
			if ent.Newest == nil {
				fmt.Fprintf(e.stdout, "%s may run none of these releases\n", *licID)
			} else {
				legacy := ""
				if ent.Newest.Legacy {
					legacy = " (legacy)"
				}
				fmt.Fprintf(e.stdout, "%s may run up to %s%s\n", *licID, ent.Newest.Version, legacy)
			}
		}
		return nil
	})
}

// reissue runs f against the ledger with the loaded key and writes the
// license it returns; the output is refused before anything is signed.
func (e *env) reissue(ledgerPath, key, passFile, out string, force, jsonOut bool, f func(*issuer.Ledger, *issuer.Key) (*issuer.Reissued, error)) (*issuer.Reissued, error) {
	if key == "" || out == "" {
		return nil, usagef("need --key and -o FILE")
	}
	if out != "-" && !force {
		if err := refuseExisting(out); err != nil {
			return nil, err
		}
	}
	sk, err := e.loadKey(key, passFile)
	if err != nil {
		return nil, err
	}
	var r *issuer.Reissued
	if err := e.withLedger(ledgerPath, func(l *issuer.Ledger) (err error) {
		r, err = f(l, sk)
		return err
	}); err != nil {
		return nil, err
	}
	if err := e.writeOutput(out, license.Armor(license.TypeLicense, r.Token), force); err != nil {
		return nil, err
	}
	if jsonOut {
		m := tokenJSON(&license.Token{KeyID: sk.ID(), Type: license.TypeLicense, Claims: r.Claims, Size: len(r.Token)})
		if r.Quote != nil {
			m["quote"] = r.Quote
		}
		return r, e.printJSON(m)
	}
	return r, nil
}

// licenseArg is the one LICENSE-ID argument of a command.
func licenseArg(fs *pflag.FlagSet) (license.ID, error) {
	if fs.NArg() != 1 {
		return license.ID{}, usagef("need exactly one LICENSE-ID")
	}
	id, err := license.ParseID(fs.Arg(0))
	if err != nil {
		return id, usageError{err.Error()}
	}
	return id, nil
}

func cmdRenew(e *env, args []string) error {
	fs := e.flags("renew", "--ledger DB --key NAME.key (--expires DATE | --upgrades-until DATE) -o FILE LICENSE-ID", `
Re-issues a license with a later expiry and/or a later end of upgrade
protection: the same license ID, the next revision. Machines keep their
activations; the ledger keeps every revision and refuses requests that carry
an older one.`)
	ledgerPath := ledgerFlag(fs)
	key, passFile := keyFlags(fs, "")
	expires := fs.String("expires", "", "the new last `DATE` of validity")
	upgrades := fs.String("upgrades-until", "", "the new last `DATE` of upgrade protection")
	out := fs.StringP("output", "o", "", "write the renewed license to `FILE`")
	force := forceFlag(fs)
	jsonOut := fs.Bool("json", false, "print the renewed license's claims as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := licenseArg(fs)
	if err != nil {
		return err
	}
	exp, err := parseTime("expires", *expires, true)
	if err != nil {
		return err
	}
	upg, err := parseTime("upgrades-until", *upgrades, true)
	if err != nil {
		return err
	}
	if exp.IsZero() && upg.IsZero() {
		return usagef("need --expires or --upgrades-until")
	}
	r, err := e.reissue(*ledgerPath, *key, *passFile, *out, *force, *jsonOut, func(l *issuer.Ledger, k *issuer.Key) (*issuer.Reissued, error) {
		return l.Renew(k, id, exp, upg)
	})
	if err != nil || *jsonOut {
		return err
	}
	fmt.Fprintf(e.stderr, "renewed %s: revision %d, %s\n", id, r.Claims.Revision, validity(r.Claims))
	return nil
}

func validity(c license.Claims) string {
	s := "never expires"
	if !c.Expires.IsZero() {
		s = "valid " + through(c.Expires)
	}
	if !c.UpgradesUntil.IsZero() {
		s += ", upgrades " + through(c.UpgradesUntil)
	}
	return s
}

func cmdUpgrade(e *env, args []string) error {
	fs := e.flags("upgrade", "--ledger DB --key NAME.key --prices FILE [--edition E] [--seats N] -o FILE LICENSE-ID", `
Re-issues a license at a higher edition of its major and/or with more seats,
and prints what the customer owes: (new price - current price) x seats, plus
the new price for each added seat, from the price list FILE (SPEC.md section
12.3). Downgrades, unknown editions and editions of another major are
refused with the reason.`)
	ledgerPath := ledgerFlag(fs)
	key, passFile := keyFlags(fs, "")
	prices := fs.String("prices", "", "the price list `FILE` (JSON)")
	edition := fs.String("edition", "", "the new `EDITION` (default: the current one)")
	seats := fs.Int("seats", 0, "the new number of seats (default: the current number)")
	out := fs.StringP("output", "o", "", "write the upgraded license to `FILE`")
	force := forceFlag(fs)
	jsonOut := fs.Bool("json", false, "print the upgraded license and the quote as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := licenseArg(fs)
	if err != nil {
		return err
	}
	if *prices == "" || (*edition == "" && *seats == 0) {
		return usagef("need --prices, and --edition or --seats")
	}
	f, err := os.Open(*prices)
	if err != nil {
		return err
	}
	pl, err := issuer.ParsePriceList(f)
	f.Close()
	if err != nil {
		return err
	}
	r, err := e.reissue(*ledgerPath, *key, *passFile, *out, *force, *jsonOut, func(l *issuer.Ledger, k *issuer.Key) (*issuer.Reissued, error) {
		return l.Upgrade(k, id, pl, *edition, *seats)
	})
	if err != nil || *jsonOut {
		return err
	}
	q := r.Quote
	fmt.Fprintf(e.stdout, "%s: %s to %s, %d seat(s) + %d added: %s %s due (%s per existing seat)\n",
		id, esc(q.FromEdition), esc(q.ToEdition), q.Seats, q.AddedSeats, q.Amount, q.Currency, q.PerSeat)
	return nil
}

func cmdTransfer(e *env, args []string) error {
	fs := e.flags("transfer", "--ledger DB --key NAME.key --to CUSTOMER --consent REF -o FILE LICENSE-ID", `
Moves a license to another customer, only with a reference to that customer's
written consent (recorded with who and when). The new customer gets the same
terms under a new license ID; the old license is revoked (the next revocation
list carries it) and its devices are decommissioned.`)
	ledgerPath := ledgerFlag(fs)
	key, passFile := keyFlags(fs, "")
	to := fs.String("to", "", "the new `CUSTOMER`")
	consent := fs.String("consent", "", "`REF`erence of the written consent (a ticket, a letter)")
	out := fs.StringP("output", "o", "", "write the new customer's license to `FILE`")
	force := forceFlag(fs)
	jsonOut := fs.Bool("json", false, "print the new license's claims as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	id, err := licenseArg(fs)
	if err != nil {
		return err
	}
	if *to == "" {
		return usagef("need --to CUSTOMER")
	}
	r, err := e.reissue(*ledgerPath, *key, *passFile, *out, *force, *jsonOut, func(l *issuer.Ledger, k *issuer.Key) (*issuer.Reissued, error) {
		return l.Transfer(k, id, *to, *consent)
	})
	if err != nil || *jsonOut {
		return err
	}
	fmt.Fprintf(e.stderr, "transferred %s to %s as %s; %s is revoked\n", id, esc(*to), r.Claims.ID, id)
	return nil
}

func cmdSweep(e *env, args []string) error {
	fs := e.flags("sweep", "--ledger DB [--fraud-contact EMAIL] [--inactive-after DURATION] [--json]", `
Applies the time-based rules as of now (meant for a daily scheduler; running
it twice changes nothing): a server migration whose grace has ended with both
machines active flags its license (customer and fraud team notified, a phone
call recorded as a task); a flag not resolved within the notice period
disables the license (revoked; the next list carries it). Check-ins are
evidence: if an old machine that has checked in before has not been seen for
--inactive-after (or since the migration began), the license is not flagged;
the customer is reminded, once, to decommission it (nothing is decommissioned
for them), and a later check-in from it flags the license at the next sweep.
Machines that never checked in count as in use. Deliver the notifications
with 'seatkey notify'.`)
	ledgerPath := ledgerFlag(fs)
	fraud := fs.String("fraud-contact", "", "the vendor's fraud team `EMAIL`")
	inactive := fs.String("inactive-after", "30d", "an old machine unseen this long is taken for retired (`DURATION`; 0: ignore check-ins)")
	jsonOut := fs.Bool("json", false, "print JSON Lines, one action a line")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	after := time.Duration(-1) // check-ins are not used
	if *inactive != "0" {
		var err error
		if after, err = parseValidity("inactive-after", *inactive); err != nil {
			return err
		}
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		l.FraudContact, l.InactiveAfter = *fraud, after
		acts, err := l.Sweep()
		if err != nil {
			return err
		}
		for _, a := range acts {
			if *jsonOut {
				e.printJSONLine(a)
			} else {
				fmt.Fprintf(e.stdout, "%s: %s (%s)\n", a.License, a.Action, esc(a.Detail))
			}
		}
		if !*jsonOut {
			fmt.Fprintf(e.stderr, "%d action(s)\n", len(acts))
		}
		return nil
	})
}

func cmdAudit(e *env, args []string) error {
	fs := e.flags("audit", "--ledger DB [--verify] [--json]", `
Shows the ledger's audit log, every operation oldest first, each a link of a
hash chain (SPEC.md section 12.5). --verify checks the whole chain and names
the first row that was edited, deleted, inserted or reordered (exit 1), and
prints the head: record it somewhere else to detect a rewrite of the whole
database.`)
	ledgerPath := ledgerFlag(fs)
	verify := fs.Bool("verify", false, "check the chain instead of listing it")
	jsonOut := fs.Bool("json", false, "print JSON (JSON Lines when listing)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		if *verify {
			head, unsealed, err := l.VerifyAudit()
			if err != nil {
				return err
			}
			if *jsonOut {
				return e.printJSON(map[string]any{"verified": true, "entries": head.Entries, "last_id": head.LastID, "head": hex.EncodeToString(head.Hash), "unsealed": unsealed})
			}
			fmt.Fprintf(e.stdout, "audit log verified: %d entries, head %x (row %d)\n", head.Entries, head.Hash, head.LastID)
			if unsealed > 0 {
				fmt.Fprintf(e.stdout, "%d earlier entries predate the audit log and are not sealed\n", unsealed)
			}
			return nil
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		if !*jsonOut {
			fmt.Fprintln(w, "ID\tAT\tACTOR\tKIND\tDETAIL")
		}
		err := l.Audit(func(a *issuer.AuditEntry) error {
			if *jsonOut {
				return e.printJSONLine(a)
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", a.ID, a.At.Format(time.RFC3339), esc(a.Actor), a.Kind, esc(strings.TrimSpace(a.Detail)))
			return nil
		})
		w.Flush()
		return err
	})
}
