package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/internal/testhw"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// seatkey sweep --inactive-after: a migration whose grace ended 10 days ago,
// on a one-seat license whose old machine last checked in before the
// migration began. With check-ins as evidence (the default) the customer is
// reminded; with --inactive-after 0 the license is flagged as before.
func TestSweepInactiveAfterCLI(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "reminded"},
		{[]string{"--inactive-after", "45d"}, "reminded"},
		{[]string{"--inactive-after", "0"}, "flagged"},
	} {
		db := filepath.Join(t.TempDir(), "ledger.db")
		l, err := issuer.CreateLedger(db)
		if err != nil {
			t.Fatal(err)
		}
		begin := time.Now().UTC().Add(-41 * 24 * time.Hour)
		clock := begin
		l.Now = func() time.Time { return clock }
		k, _ := issuer.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
		tok, err := k.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: "ledgerpro", Edition: "pro", Seats: 1,
			Kind: license.Subscription, IssuedAt: begin.Add(-time.Hour), Expires: begin.AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.RecordLicense(k, tok, issuer.LicensePolicy{}); err != nil {
			t.Fatal(err)
		}
		activate := func(n int) *issuer.Result {
			req, _ := activation.NewRequest(tok, testhw.Machine(n).Digest("ledgerpro"), "m", false)
			b, _ := req.MarshalBinary()
			r, err := l.Activate(k, b)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		old := activate(1)
		if _, err := l.CheckIn(k, old.Token, testhw.Machine(1).Digest("ledgerpro"), 0); err != nil {
			t.Fatal(err)
		}
		clock = begin.Add(time.Hour)
		if m := activate(2); m.MigrationUntil.IsZero() {
			t.Fatal("no migration")
		}
		l.Close()
		r := runCLI(t, nil, append([]string{"sweep", "--ledger", db, "--json"}, tc.args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, `"action":"`+tc.want+`"`) {
			t.Errorf("sweep %v: %+v, want %s", tc.args, r, tc.want)
		}
	}
}
