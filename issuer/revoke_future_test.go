package issuer

import (
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// A revocation dated in the future is published in the first list issued
// at or after its date, never before (SPEC 11.1): a list only states what is
// revoked as of its issue time.
func TestFutureRevocationWaitsForItsDate(t *testing.T) {
	dir := t.TempDir()
	l, err := OpenLedger(dir + "/l.db")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	key, _ := GenerateKey()
	id := license.NewID()
	tok, err := key.Mint(license.Claims{ID: id, Vendor: "v", Customer: "c", Product: "p", IssuedAt: now.AddDate(0, -1, 0),
		Expires: now.AddDate(1, 0, 0), Edition: "e", Seats: 1, Kind: license.Subscription})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.RecordLicense(key, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Revoke(id.String(), license.ReasonRefunded, now.AddDate(0, 0, 10)); err != nil {
		t.Fatal(err)
	}
	_, list, err := l.PublishRevocationList(key, "v", 24*time.Hour)
	if err != nil {
		t.Fatalf("publishing with a future-dated entry: %v", err)
	}
	if _, ok := list.License(id); ok {
		t.Fatal("a revocation dated in ten days is in today's list")
	}
	now = now.AddDate(0, 0, 10)
	_, list, err = l.PublishRevocationList(key, "v", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := list.License(id); !ok || e.Reason != license.ReasonRefunded {
		t.Fatal("the revocation is missing from the list issued on its date")
	}
}
