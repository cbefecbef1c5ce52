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
and never expires; a subscription's upgrade protection defaults to its term.`)
	key := fs.String("key", "", "private key `FILE` (NAME.key)")
	passFile := fs.String("passphrase-file", "", "passphrase `FILE` for an encrypted key (or $SEATKEY_PASSPHRASE)")
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
	overage := fs.String("overage", "deny", "past the seats: allow (recorded and billed) or deny")
	overagePrice := fs.String("overage-price", "50", "price per overage device, USD")
	contact := fs.String("contact", "", "customer's primary contact `EMAIL` for notifications")
	out := fs.StringP("output", "o", "", "write the license to `FILE`")
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
	if *seats < 1 {
		return usagef("--seats must be at least 1")
	}
	k, err := license.ParseKind(*kind)
	if err != nil {
		return usagef("--kind: %v", err)
	}
	c := license.Claims{ID: license.NewID(), Vendor: *vendor, Product: *product, Customer: *customer, Edition: *edition,
		Seats: *seats, Failover: *failover, Kind: k, Major: *major, IssuedAt: time.Now().UTC().Truncate(time.Second)}
	if c.Vendor == "" {
		c.Vendor = strings.TrimSuffix(filepath.Base(*key), ".key")
	}
	for _, f := range *features {
		for _, p := range strings.Split(f, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Features = append(c.Features, p)
			}
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
	sk, err := e.loadKey(*key, *passFile)
	if err != nil {
		return err
	}
	tok, err := sk.Mint(c)
	if err != nil {
		return err
	}
	if *ledgerPath != "" {
		l, err := openLedger(*ledgerPath)
		if err != nil {
			return err
		}
		defer l.Close()
		if err := l.RecordLicense(sk, tok, issuer.LicensePolicy{OverageAllowed: *overage == "allow", OveragePriceCents: price, Contact: *contact}); err != nil {
			return err
		}
	}
	if err := e.writeOutput(*out, license.Armor(license.TypeLicense, tok)); err != nil {
		return err
	}
	if *jsonOut {
		return e.printJSON(tokenJSON(&license.Token{KeyID: sk.ID(), Type: license.TypeLicense, Claims: c, Size: len(tok)}))
	}
	fmt.Fprintf(e.stderr, "minted %s for %s (%d bytes)\n", c.ID, c.Customer, len(tok))
	return nil
}
