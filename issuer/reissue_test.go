package issuer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

const priceJSON = `{"currency": "USD", "products": {"ledgerpro": {
	"4": {"standard": "100.00", "pro": "250.00", "enterprise": "400.50"},
	"5": {"pro": "300", "ultimate": "900"}}}}`

func prices(t *testing.T) *PriceList {
	t.Helper()
	pl, err := ParsePriceList(strings.NewReader(priceJSON))
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

func recorded(t *testing.T, l *Ledger, k *Key, c license.Claims) ([]byte, license.ID) {
	t.Helper()
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.RecordLicense(k, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	return tok, c.ID
}

func proLicense(seats int) license.Claims {
	return license.Claims{ID: license.NewID(), Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: seats,
		Kind: license.Subscription, Major: 4, IssuedAt: ledgerNow.Add(-24 * time.Hour), Expires: ledgerNow.AddDate(1, 0, 0)}
}

func TestUpgradeArithmetic(t *testing.T) {
	pl := prices(t)
	for _, tc := range []struct {
		from, to      string
		seats, newSts int
		major         int
		amount        string
		err           error
	}{
		{"pro", "enterprise", 25, 25, 4, "3762.50", nil},   // (400.50 − 250) × 25
		{"standard", "pro", 10, 12, 4, "2000.00", nil},     // 150 × 10 + 250 × 2
		{"pro", "pro", 10, 15, 4, "1250.00", nil},          // 5 added seats at 250
		{"enterprise", "pro", 10, 10, 4, "", ErrDowngrade}, // cheaper edition
		{"pro", "pro", 10, 10, 4, "", ErrDowngrade},        // nothing changes
		{"pro", "enterprise", 10, 9, 4, "", ErrDowngrade},  // fewer seats
		{"pro", "platinum", 10, 10, 4, "", ErrNoPrice},     // unknown edition
		{"pro", "ultimate", 10, 10, 4, "", ErrCrossMajor},  // only in 5.x
		{"pro", "enterprise", 10, 10, 0, "", ErrNoPrice},   // no major licensed
		{"pro", "enterprise", 10, 10, 7, "", ErrNoPrice},   // no prices for 7.x
	} {
		q, err := pl.QuoteUpgrade(product, tc.major, tc.from, tc.to, tc.seats, tc.newSts)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s→%s %d→%d: %v, want %v", tc.from, tc.to, tc.seats, tc.newSts, err, tc.err)
			}
			continue
		}
		if err != nil || q.Amount.String() != tc.amount {
			t.Errorf("%s→%s %d→%d: %v %v, want %s", tc.from, tc.to, tc.seats, tc.newSts, q, err, tc.amount)
		}
	}
}

func TestPriceListStrict(t *testing.T) {
	for _, bad := range []string{
		`{"currency": "USD", "products": {"p": {"4": {"a": "1e3"}}}}`,
		`{"currency": "USD", "products": {"p": {"4": {"a": "10.001"}}}}`,
		`{"currency": "USD", "products": {"p": {"4": {"a": "-5"}}}}`,
		`{"currency": "USD", "products": {"p": {"4": {"a": "10", "b": "10.00"}}}}`,
		`{"currency": "USD", "products": {"p": {"04": {"a": "10"}}}}`,
		`{"currency": "dollars", "products": {}}`,
		`{"currency": "USD", "products": {}, "discount": "10%"}`,
		`{"currency": "USD", "products": {}} {}`,
	} {
		if _, err := ParsePriceList(strings.NewReader(bad)); !errors.Is(err, ErrPriceList) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestRenewSupersedes(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok, id := recorded(t, l, k, proLicense(3))
	dev, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "a", false))
	if err != nil {
		t.Fatal(err)
	}
	newExp := ledgerNow.AddDate(2, 0, 0)
	r, err := l.Renew(k, id, newExp, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Claims.Revision != 1 || !r.Claims.Expires.Equal(newExp) || !r.Claims.UpgradesUntil.Equal(newExp) || r.Claims.ID != id {
		t.Fatalf("renewed claims %+v", r.Claims)
	}
	lic, err := verifier.Verify(r.Token, verifier.Options{Keys: verifier.NewKeyring(k.Public()), Product: product, Now: ledgerNow})
	if err != nil || lic.Revision != 1 {
		t.Fatalf("the renewed token: %v %+v", err, lic)
	}
	// Devices keep their activations: the same machine with the new revision is the same device.
	again, err := l.Activate(k, requestFor(t, r.Token, syntheticMachine(1), "a", false))
	if err != nil || again.Device != dev.Device || again.Outcome != SameDevice {
		t.Fatalf("same machine after renewal: %+v %v", again, err)
	}
	// The old revision is superseded: a new machine with it is refused, and no seat is taken.
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "b", false)); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("old revision: %v", err)
	}
	if used := seatsUsed(t, l, r.Token); used != 1 {
		t.Fatalf("%d seats used", used)
	}
	// Not a renewal: an earlier date, or nothing.
	if _, err := l.Renew(k, id, ledgerNow.AddDate(1, 6, 0), time.Time{}); !errors.Is(err, ErrRenewal) {
		t.Fatalf("earlier expiry: %v", err)
	}
	if _, err := l.Renew(k, id, time.Time{}, time.Time{}); !errors.Is(err, ErrRenewal) {
		t.Fatalf("no dates: %v", err)
	}
	var n int
	l.db.QueryRow(`SELECT COUNT(*) FROM license_revisions WHERE license_id = ?`, id[:]).Scan(&n)
	if n != 1 {
		t.Fatalf("%d superseded revisions kept, want 1", n)
	}
}

func TestUpgradeReissues(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	_, id := recorded(t, l, k, proLicense(25))
	r, err := l.Upgrade(k, id, prices(t), "enterprise", 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Claims.Edition != "enterprise" || r.Claims.Seats != 25 || r.Claims.Revision != 1 || r.Quote.Amount.String() != "3762.50" {
		t.Fatalf("upgrade: %+v %+v", r.Claims, r.Quote)
	}
	var cents int64
	l.db.QueryRow(`SELECT amount_cents FROM charges WHERE license_id = ?`, id[:]).Scan(&cents)
	if cents != 376250 {
		t.Fatalf("charge recorded: %d cents", cents)
	}
	if _, err := l.Upgrade(k, id, prices(t), "pro", 0); !errors.Is(err, ErrDowngrade) {
		t.Fatalf("downgrade after the upgrade: %v", err)
	}
}

func TestTransferNeedsConsent(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok, id := recorded(t, l, k, proLicense(2))
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "a", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Transfer(k, id, "Initech", "  "); !errors.Is(err, ErrNoConsent) {
		t.Fatalf("without consent: %v", err)
	}
	r, err := l.Transfer(k, id, "Initech", "ticket 4711, signed letter 2026-05-30")
	if err != nil {
		t.Fatal(err)
	}
	if r.Claims.Customer != "Initech" || r.Claims.ID == id || r.Claims.Seats != 2 {
		t.Fatalf("transferred claims %+v", r.Claims)
	}
	// The old license is revoked: refused by the issuer, and in the next list.
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "b", false)); !errors.Is(err, ErrLicenseRevoked) {
		t.Fatalf("the transferred-away license: %v", err)
	}
	_, rl, err := l.PublishRevocationList(k, "Acme", 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rl.License(id); !ok {
		t.Fatal("the old license is not in the next revocation list")
	}
	// The new customer's machines activate on the new license.
	if _, err := l.Activate(k, requestFor(t, r.Token, syntheticMachine(1), "a", false)); err != nil {
		t.Fatalf("new owner: %v", err)
	}
	var consent, actor string
	l.db.QueryRow(`SELECT consent, actor FROM transfers`).Scan(&consent, &actor)
	if consent != "ticket 4711, signed letter 2026-05-30" || actor != "test" {
		t.Fatalf("consent recorded as %q by %q", consent, actor)
	}
}
