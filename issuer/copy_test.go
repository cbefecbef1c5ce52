package issuer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/internal/pgtest"
	"github.com/seatkey/seatkey/license"
)

// populated is an SQLite ledger with a little of everything: licenses with
// and without overage, activations, a decommission and a recommission, a
// revocation and a published list, a transfer, a release, an API token, a
// portal operator, notifications and a sign-in attempt.
func populated(t *testing.T) (*Ledger, *Key) {
	t.Helper()
	l, _ := newLedgerOn(t, filepath.Join(t.TempDir(), "src.db"))
	k := testIssuerKey(t)
	a := mintFor(t, k, "Globex", 3, license.Subscription, 0)
	if err := l.RecordLicense(k, a, LicensePolicy{OverageAllowed: true, Contact: "it@globex.example", Lease: 48 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	var devs []*Result
	for i := 0; i < 5; i++ {
		r, err := l.Activate(k, requestFor(t, a, syntheticMachine(i), fmt.Sprint("g", i), false))
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, r)
	}
	if err := l.Decommission(devs[0].Device); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, a, syntheticMachine(0), "g0 again", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Revoke(devs[1].Activation.String(), license.ReasonAbuse, ledgerNow); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.PublishRevocationList(k, "Acme", 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	b, id := recorded(t, l, k, proLicense(2))
	if _, err := l.Activate(k, requestFor(t, b, syntheticMachine(50), "i0", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Transfer(k, id, "Initech", "ticket 9"); err != nil {
		t.Fatal(err)
	}
	if err := l.AddRelease(product, license.Version{Major: 4, Minor: 1}, ledgerNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CreateAPIToken("ci", ScopeRead, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.AddOperator("alice", []byte("correct horse battery"), false); err != nil {
		t.Fatal(err)
	}
	if _, err := l.CountAttempt("ip:192.0.2.1", 5, time.Hour, ledgerNow); err != nil {
		t.Fatal(err)
	}
	return l, k
}

// snapshot is what a vendor sees of a ledger, to compare two.
func snapshot(t *testing.T, l *Ledger) string {
	t.Helper()
	var b bytes.Buffer
	if err := l.WriteJSON(&b, Filter{}); err != nil {
		t.Fatal(err)
	}
	lics, err := l.Licenses(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	revs, err := l.ActiveRevocations()
	if err != nil {
		t.Fatal(err)
	}
	notes, err := l.Notifications(false)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "%+v\n%+v\n%d notifications\n", lics, revs, len(notes))
	for _, li := range lics {
		tok, err := l.LicenseToken(li.ID)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%x\n", tok)
	}
	return b.String()
}

// TestCopyLedgerToPostgresAndBack: an SQLite ledger copied into PostgreSQL
// and back reports the same, its audit chain verifies to the same head, and
// both copies go on working (new customers, devices and events get new
// IDs: the identity sequences moved past the copied rows).
func TestCopyLedgerToPostgresAndBack(t *testing.T) {
	src, k := populated(t)
	pg, _ := newLedgerOn(t, pgtest.Need(t).NewDatabase(t))
	rep, err := CopyLedger(src, pg)
	if err != nil {
		t.Fatal(err)
	}
	want := snapshot(t, src)
	if got := snapshot(t, pg); got != want {
		t.Fatalf("the PostgreSQL copy reports differently:\n%s\nwant\n%s", got, want)
	}
	if rep.Tables["devices"] != 6 || rep.Tables["events"] < 10 || rep.Audit.Entries != rep.Tables["events"] {
		t.Fatalf("report %+v", rep)
	}
	back, _ := newLedgerOn(t, filepath.Join(t.TempDir(), "back.db"))
	if _, err := CopyLedger(pg, back); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, back); got != want {
		t.Fatalf("copied back, it reports differently:\n%s\nwant\n%s", got, want)
	}
	for _, l := range []*Ledger{pg, back} {
		tok := mintFor(t, k, "Umbrella", 1, license.Subscription, 0)
		if err := l.RecordLicense(k, tok, LicensePolicy{Contact: "ops@umbrella.example"}); err != nil {
			t.Fatalf("a new customer after the copy: %v", err)
		}
		if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(77), "u0", false)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := l.VerifyAudit(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCopyLedgerRefusesAUsedTarget: copying over a ledger that has records
// of its own is refused and changes nothing.
func TestCopyLedgerRefusesAUsedTarget(t *testing.T) {
	src, _ := populated(t)
	dst, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Other", 1, license.Subscription, 0)
	if err := dst.RecordLicense(k, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dst)
	if _, err := CopyLedger(src, dst); err == nil || !strings.Contains(err.Error(), "copy into a new one") {
		t.Fatalf("copied over a ledger in use: %v", err)
	}
	if snapshot(t, dst) != before {
		t.Fatal("a refused copy changed the target")
	}
}
