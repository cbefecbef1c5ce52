package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

func cmdMint(e *env, args []string) error {
	fs := e.flags("mint", "--key NAME.key --product P --customer C --edition E --seats N [flags] -o FILE", `
Signs a new license and writes it armored to FILE ("-" for standard output).
Dates are YYYY-MM-DD (through the end of that day, UTC) or RFC 3339 times.
A subscription needs --expires; a perpetual license needs --upgrades-until
and never expires; a subscription's upgrade protection defaults to its term.
Feature names are lower-case letters, digits and hyphens, starting with a
letter or digit, at most 63 characters (sso, api, reports-v2).`)
	key, passFile := keyFlags(fs, "")
	vendor := fs.String("vendor", "", "vendor `NAME` (iss; default: the key file's base name)")
	product := fs.String("product", "", "product `ID` the license is for (aud)")
	customer := fs.String("customer", "", "customer `NAME` (sub)")
	edition := fs.String("edition", "", "edition `NAME`")
	seats := fs.Int("seats", 0, "machines (or deployments) allowed")
	failover := fs.Int("failover", 0, "extra failover installations allowed")
	kind := fs.String("kind", "subscription", "subscription, perpetual or per-deployment")
	expires := fs.String("expires", "", "last `DATE` of validity")
	notBefore := fs.String("not-before", "", "first `DATE` of validity (default: now)")
	upgrades := fs.String("upgrades-until", "", "last `DATE` of upgrade protection")
	major := fs.Int("major", 0, "licensed major version (0: any)")
	features := fs.StringArray("feature", nil, "licensed feature `F` (repeat, or comma-separated)")
	ledgerPath := fs.String("ledger", "", "record the license in the ledger `DB`")
	overage := fs.String("overage", "deny", "with --ledger: past the seats, allow (recorded and billed) or deny")
	overagePrice := fs.String("overage-price", "50", "with --ledger: price per overage device, USD")
	contact := fs.String("contact", "", "with --ledger: customer's primary contact `EMAIL` for notifications")
	grace := fs.String("migration-grace", "30d", "with --ledger and --overage deny: how long a server migration may keep both machines active (`DURATION`; 0: no migrations)")
	migrations := fs.Int("migrations-per-year", issuer.DefaultMigrationsPerYear, "with --ledger: server migrations the license may start in any 365 days, cancelled ones included (-1: no cap)")
	notice := fs.String("fraud-notice", "14d", "with --ledger: how long a license flagged after a migration has before it is disabled (`DURATION`)")
	lease := fs.String("lease", "0", "with --ledger: each activation expires this long after it is signed unless the device checks in (`DURATION` such as 168h or 7d; 0: no lease)")
	out := fs.StringP("output", "o", "", "write the license to `FILE`")
	force := forceFlag(fs)
	jsonOut := fs.Bool("json", false, "print the minted license's claims as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, r := range []struct{ name, v string }{{"key", *key}, {"product", *product}, {"customer", *customer}, {"edition", *edition}, {"output", *out}} {
		if r.v == "" {
			return usagef("--%s is required", r.name)
		}
	}
	if *ledgerPath == "" {
		for _, f := range []string{"overage", "overage-price", "contact", "migration-grace", "migrations-per-year", "fraud-notice", "lease"} {
			if fs.Changed(f) {
				return usagef("--%s is kept in the ledger: it needs --ledger", f)
			}
		}
	}
	if *seats < 1 {
		return usagef("--seats must be at least 1")
	}
	k, err := license.ParseKind(*kind)
	if err != nil {
		return usagef("--kind: %v", err)
	}
	c := license.Claims{ID: license.NewID(), Vendor: *vendor, Product: *product, Customer: *customer, Edition: *edition,
		Seats: *seats, Failover: *failover, Kind: k, Major: *major, IssuedAt: e.now().UTC().Truncate(time.Second)}
	if c.Vendor == "" {
		c.Vendor = strings.TrimSuffix(filepath.Base(*key), ".key")
	}
	for _, f := range *features {
		for _, p := range strings.Split(f, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if !validFeature(p) {
				return usagef("--feature %q: a feature name is lower-case letters, digits and hyphens, starting with a letter or digit, at most 63 characters", p)
			}
			c.Features = append(c.Features, p)
		}
	}
	c.Features = license.NormalizeFeatures(c.Features)
	if c.Expires, err = parseTime("expires", *expires, true); err != nil {
		return err
	}
	if c.NotBefore, err = parseTime("not-before", *notBefore, false); err != nil {
		return err
	}
	if c.UpgradesUntil, err = parseTime("upgrades-until", *upgrades, true); err != nil {
		return err
	}
	if c.Kind == license.Subscription && c.UpgradesUntil.IsZero() {
		c.UpgradesUntil = c.Expires
	}
	if err := c.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if *overage != "allow" && *overage != "deny" {
		return usagef("--overage must be allow or deny")
	}
	price, err := parsePrice(*overagePrice)
	if err != nil {
		return err
	}
	pol := issuer.LicensePolicy{OverageAllowed: *overage == "allow", OveragePriceCents: price, Contact: *contact, MigrationGrace: -1}
	if *grace != "0" {
		if pol.MigrationGrace, err = parseValidity("migration-grace", *grace); err != nil {
			return err
		}
	}
	switch {
	case *migrations == -1:
		pol.MigrationsPerYear = -1
	case *migrations < 1:
		return usagef("--migrations-per-year must be 1 or more, or -1 for no cap (no migrations at all: --migration-grace 0)")
	default:
		pol.MigrationsPerYear = *migrations
	}
	if pol.FraudNotice, err = parseValidity("fraud-notice", *notice); err != nil {
		return err
	}
	if *lease != "0" {
		if pol.Lease, err = parseValidity("lease", *lease); err != nil {
			return err
		}
	}
	sk, err := e.loadKey(*key, *passFile)
	if err != nil {
		return err
	}
	tok, err := sk.Mint(c)
	if err != nil {
		return err
	}
	if *ledgerPath != "" {
		// Refuse an existing output before recording: a license in the
		// ledger that was never written could still be exported, but the
		// vendor asked for a file.
		if !*force && *out != "-" {
			if err := refuseExisting(*out); err != nil {
				return err
			}
		}
		if err := e.withLedger(*ledgerPath, func(l *issuer.Ledger) error { return l.RecordLicense(sk, tok, pol) }); err != nil {
			return err
		}
	}
	if err := e.writeOutput(*out, license.Armor(license.TypeLicense, tok), *force); err != nil {
		return err
	}
	if *jsonOut {
		return e.printJSON(tokenJSON(&license.Token{KeyID: sk.ID(), Type: license.TypeLicense, Claims: c, Size: len(tok)}))
	}
	fmt.Fprintf(e.stderr, "minted %s for %s (%d bytes)\n", c.ID, esc(c.Customer), len(tok))
	return nil
}

// validFeature is the feature name syntax: [a-z0-9][a-z0-9-]{0,62}. Verifiers
// compare names exactly, so one spelling per feature is what makes
// --feature sso and lic.Has("sso") agree.
func validFeature(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func cmdExport(e *env, args []string) error {
	fs := e.flags("export", "--ledger DB [--single-line] [-o FILE] LICENSE-ID", `
Writes a license the ledger recorded (seatkey mint --ledger) again, armored,
or as one line (seatkey-license:...) for pasting into a form or an email.
Without -o it goes to standard output.`)
	ledgerPath := ledgerFlag(fs)
	single := fs.Bool("single-line", false, "write the single-line form")
	out := fs.StringP("output", "o", "-", "write the license to `FILE`")
	force := forceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("need exactly one LICENSE-ID")
	}
	id, err := license.ParseID(fs.Arg(0))
	if err != nil {
		return usageError{err.Error()}
	}
	var tok []byte
	if err := e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		tok, err = l.LicenseToken(id)
		return err
	}); err != nil {
		return err
	}
	b := license.Armor(license.TypeLicense, tok)
	if *single {
		b = []byte(license.Line(license.TypeLicense, tok) + "\n")
	}
	return e.writeOutput(*out, b, *force)
}
