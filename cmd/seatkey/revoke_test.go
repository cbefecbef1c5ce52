package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

func TestKeyRotationAndRevocationCLI(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	db := p("ledger.db")
	if r := runCLI(t, nil, "ledger", "init", "--ledger", db); r.code != 0 {
		t.Fatalf("ledger init: %+v", r)
	}
	kid := func(name string) string {
		r := runCLI(t, nil, "keygen", "--unencrypted", "-o", p(name))
		if r.code != 0 {
			t.Fatal(r)
		}
		return strings.TrimSpace(r.stdout)
	}
	mint := func(key, out string) string {
		r := runCLI(t, nil, "mint", "--key", p(key+".key"), "--vendor", "Acme", "--product", "ledgerpro", "--customer", "Globex", "--edition", "pro",
			"--seats", "5", "--expires", "2099-01-01", "--ledger", db, "-o", p(out), "--json")
		if r.code != 0 {
			t.Fatalf("mint: %+v", r)
		}
		i := strings.Index(r.stdout, `"id": "`)
		return r.stdout[i+7 : i+7+30]
	}
	verify := func(lic string, extra ...string) result {
		return runCLI(t, nil, append([]string{"verify", "--pub", p("old.pub"), "--pub", p("new.pub"), "--product", "ledgerpro"}, append(extra, p(lic))...)...)
	}
	oldKID := kid("old")
	// l1 was signed two hours ago (minted through the library with that issue
	// time: the CLI has no clock to set), before the retirement below.
	retiredAt := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	mintIssued(t, p("old.key"), retiredAt.Add(-time.Hour), p("l1.lic"))
	kid("new")
	l2 := mint("new", "l2.lic")
	for _, l := range []string{"l1.lic", "l2.lic"} {
		if r := verify(l); r.code != 0 {
			t.Fatalf("both keys trusted: %s %+v", l, r)
		}
	}
	// Retire the old key as of an hour ago: what it signed before stays
	// valid, what it signs after (l3, now) is refused. The issue times are
	// set, not ordered by waiting on the wall clock.
	mint("old", "l3.lic")
	if r := runCLI(t, nil, "revoke", "--ledger", db, "--reason", "retired", "--at", retiredAt.Format(time.RFC3339), oldKID); r.code != 0 {
		t.Fatalf("retire: %+v", r)
	}
	if r := runCLI(t, nil, "crl", "--key", p("new.key"), "--vendor", "Acme", "--ledger", db, "-o", p("crl1")); r.code != 0 || !strings.Contains(r.stderr, "revocation list 1") {
		t.Fatalf("crl: %+v", r)
	}
	if r := verify("l1.lic", "--crl", p("crl1")); r.code != 0 {
		t.Fatalf("signed before retirement: %+v", r)
	}
	if r := verify("l3.lic", "--crl", p("crl1")); r.code != 1 || !strings.Contains(r.stderr, "retired") {
		t.Fatalf("signed after retirement: %+v", r)
	}
	// The old key turns out to be compromised: everything it signed goes.
	runCLI(t, nil, "revoke", "--ledger", db, "--reason", "key-compromise", oldKID)
	if r := runCLI(t, nil, "revoke", "--ledger", db, "--reason", "refunded", l2); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCLI(t, nil, "revoke", "--ledger", db, "--reason", "refunded", l2); !strings.Contains(r.stdout, "already revoked") || r.code != 0 {
		t.Fatalf("idempotent revoke: %+v", r)
	}
	runCLI(t, nil, "crl", "--key", p("new.key"), "--vendor", "Acme", "--ledger", db, "-o", p("crl2"))
	state := p("state")
	if r := verify("l1.lic", "--crl", p("crl2"), "--state", state); r.code != 1 || !strings.Contains(r.stderr, "key-compromise") {
		t.Fatalf("compromised key: %+v", r)
	}
	if r := verify("l2.lic", "--crl", p("crl2")); r.code != 1 || !strings.Contains(r.stderr, "refunded") {
		t.Fatalf("revoked license: %+v", r)
	}
	runCLI(t, nil, "unrevoke", "--ledger", db, l2)
	runCLI(t, nil, "crl", "--key", p("new.key"), "--vendor", "Acme", "--ledger", db, "-o", p("crl3"))
	if r := verify("l2.lic", "--crl", p("crl3"), "--state", state); r.code != 0 {
		t.Fatalf("unrevoked: %+v", r)
	}
	if r := verify("l2.lic", "--crl", p("crl1"), "--state", state); r.code != 1 || !strings.Contains(r.stderr, "older") {
		t.Fatalf("rolled-back list: %+v", r)
	}
	// A list signed by the compromised key is refused by machines that know it is compromised ...
	// The vendor's ledger signs nothing with the revoked key; the thief signs with a ledger of his own.
	if r := runCLI(t, nil, "crl", "--key", p("old.key"), "--vendor", "Acme", "--ledger", db, "-o", p("crl-by-old")); r.code != 1 || !strings.Contains(r.stderr, "revoked") {
		t.Fatalf("the vendor's ledger signed a list with a compromised key: %+v", r)
	}
	if r := runCLI(t, nil, "ledger", "init", "--ledger", p("thief.db")); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCLI(t, nil, "crl", "--key", p("old.key"), "--vendor", "Acme", "--ledger", p("thief.db"), "-o", p("crl-by-old")); r.code != 0 {
		t.Fatalf("the thief's list: %+v", r)
	}
	if r := verify("l2.lic", "--crl", p("crl-by-old"), "--state", state); r.code != 1 || !strings.Contains(r.stderr, "revocation list") {
		t.Fatalf("list signed by a revoked key: %+v", r)
	}
	// ... and a stale list warns, or is refused on request.
	runCLI(t, nil, "crl", "--key", p("new.key"), "--vendor", "Acme", "--ledger", db, "--valid-for", "1s", "-o", p("crl-short"))
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if r := verify("l2.lic", "--crl", p("crl-short"), "--at", later); r.code != 0 || !strings.Contains(r.stderr, "stale") {
		t.Fatalf("stale list: %+v", r)
	}
	if r := verify("l2.lic", "--crl", p("crl-short"), "--at", later, "--refuse-stale"); r.code != 1 {
		t.Fatalf("stale list refused: %+v", r)
	}
	if r := runCLI(t, nil, "inspect", "--json", p("crl3")); r.code != 0 || !strings.Contains(r.stdout, `"sequence": 3`) {
		t.Fatalf("inspect list: %+v", r)
	}
	if r := runCLI(t, nil, "revoke", "--ledger", db, "--reason", "bogus", l2); r.code != 2 {
		t.Fatalf("bad reason: %+v", r)
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatal("no state file")
	}
}

// mintIssued signs, with the unencrypted key file keyFile, a license like the
// CLI's mint in TestKeyRotationAndRevocationCLI but issued at iat.
func mintIssued(t *testing.T, keyFile string, iat time.Time, out string) {
	t.Helper()
	k, err := issuer.LoadKey(keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := time.Parse(time.DateOnly, "2099-01-02")
	tok, err := k.Mint(license.Claims{ID: license.NewID(), Vendor: "Acme", Customer: "Globex", Product: "ledgerpro", Edition: "pro",
		Seats: 5, Kind: license.Subscription, IssuedAt: iat, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, license.Armor(license.TypeLicense, tok), 0o644); err != nil {
		t.Fatal(err)
	}
}
