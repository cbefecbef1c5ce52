package issuer

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// noMigrations records tok as a license that allows no server migration, so
// a test about seat exhaustion sees the refusal at once.
func noMigrations(t testing.TB, l *Ledger, k *Key, tok []byte) {
	t.Helper()
	if err := l.RecordLicense(k, tok, LicensePolicy{MigrationGrace: -1}); err != nil {
		t.Fatal(err)
	}
}

func migrating(t testing.TB, l *Ledger) int {
	t.Helper()
	var n int
	if err := l.db.QueryRow(`SELECT COUNT(*) FROM devices WHERE migration_until IS NOT NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// migrationLedger is a 2-seat license with both seats taken by m1 and m2,
// a clock the test moves, and the fraud team's address.
func migrationLedger(t *testing.T) (l *Ledger, k *Key, tok []byte, now *time.Time, old []*Result) {
	t.Helper()
	l, _ = newLedger(t)
	clock := ledgerNow
	now = &clock
	l.Now = func() time.Time { return *now }
	l.FraudContact = "fraud@acme.example"
	k = testIssuerKey(t)
	tok = mintFor(t, k, "Globex", 2, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{Contact: "it@globex.example"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(i), "old", false))
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, r)
	}
	return l, k, tok, now, old
}

func notes(t *testing.T, l *Ledger, kind string) []Notification {
	t.Helper()
	all, err := l.Notifications(false)
	if err != nil {
		t.Fatal(err)
	}
	var out []Notification
	for _, n := range all {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func verifyAt(t *testing.T, k *Key, lic, act []byte, p *fingerprint.Profile, at time.Time) error {
	t.Helper()
	_, err := verifier.VerifyActivation(lic, act, p.Digest(product), verifier.Options{Keys: verifier.NewKeyring(k.Public()), Product: product, Now: at})
	return err
}

// The migration timeline: day 0 a third machine on two seats is a migration
// whose activation ends with the grace (offline too); day 29 still fine;
// day 31 the sweep flags the license, tells the customer and the fraud team
// and records a phone call; after the notice period the license is disabled,
// in the next revocation list, and refused by the issuer. Sweeping twice
// changes nothing.
func TestMigrationTimeline(t *testing.T) {
	l, k, tok, now, _ := migrationLedger(t)
	start := *now
	newMachine := syntheticMachine(3)
	m, err := l.Activate(k, requestFor(t, tok, newMachine, "new", false))
	if err != nil {
		t.Fatal(err)
	}
	graceEnd := start.Add(DefaultMigrationGrace)
	if !m.MigrationUntil.Equal(graceEnd) || m.Overage {
		t.Fatalf("migration: until %v, overage %v", m.MigrationUntil, m.Overage)
	}
	claims := activationClaims(t, m.Token)
	if !claims.Expires.Equal(graceEnd) {
		t.Fatalf("the migration activation expires %v, want the grace end %v", claims.Expires, graceEnd)
	}
	if used := seatsUsed(t, l, tok); used != 2 {
		t.Fatalf("%d seats used during the migration", used)
	}
	// A second migration at the same time is refused.
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(4), "another", false)); !errors.Is(err, ErrSeatsExhausted) || !strings.Contains(err.Error(), "already migrating") {
		t.Fatalf("a second migration: %v", err)
	}
	// Day 29: the new machine verifies offline; the sweep does nothing.
	*now = start.Add(29 * 24 * time.Hour)
	if err := verifyAt(t, k, tok, m.Token, newMachine, *now); err != nil {
		t.Fatalf("day 29 offline: %v", err)
	}
	if acts, err := l.Sweep(); err != nil || len(acts) != 0 {
		t.Fatalf("day 29 sweep: %v %v", acts, err)
	}
	// Day 31: the activation has expired offline; the sweep flags the license.
	*now = start.Add(31 * 24 * time.Hour)
	if err := verifyAt(t, k, tok, m.Token, newMachine, *now); !errors.Is(err, verifier.ErrActivationExpired) {
		t.Fatalf("day 31 offline: %v", err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, newMachine, "new again", false)); !errors.Is(err, ErrMigrationOver) {
		t.Fatalf("day 31 re-activation of the migrating device: %v", err)
	}
	acts, err := l.Sweep()
	if err != nil || len(acts) != 1 || acts[0].Action != "flagged" {
		t.Fatalf("day 31 sweep: %v %v", acts, err)
	}
	if again, err := l.Sweep(); err != nil || len(again) != 0 {
		t.Fatalf("sweeping twice: %v %v", again, err)
	}
	if n := notes(t, l, "migration-overdue"); len(n) != 1 || n[0].Recipient != "it@globex.example" {
		t.Fatalf("customer told: %+v", n)
	}
	if sums, _ := l.Summaries(Filter{}); sums[0].FlaggedAt.IsZero() || !sums[0].FlagDeadline.Equal(now.Add(DefaultFraudNotice)) || !sums[0].MigrationUntil.Equal(graceEnd) {
		t.Fatalf("the report does not show the flag: %+v", sums[0])
	}
	if n := notes(t, l, "fraud-flag"); len(n) != 1 || n[0].Recipient != "fraud@acme.example" {
		t.Fatalf("fraud team told: %+v", n)
	}
	var tasks int
	l.db.QueryRow(`SELECT COUNT(*) FROM tasks WHERE kind = 'phone-call' AND done_at IS NULL`).Scan(&tasks)
	if tasks != 1 {
		t.Fatalf("%d phone-call tasks", tasks)
	}
	// After the notice period: disabled, revoked, refused.
	*now = start.Add(31*24*time.Hour + DefaultFraudNotice)
	acts, err = l.Sweep()
	if err != nil || len(acts) != 1 || acts[0].Action != "disabled" {
		t.Fatalf("after the notice period: %v %v", acts, err)
	}
	if again, err := l.Sweep(); err != nil || len(again) != 0 {
		t.Fatalf("sweeping twice: %v %v", again, err)
	}
	lt, _ := license.Inspect(tok)
	_, rl, err := l.PublishRevocationList(k, "Acme", 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := rl.License(lt.Claims.ID); !ok || e.Reason != license.ReasonAbuse {
		t.Fatalf("disabled license in the next list: %v %+v", ok, e)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(5), "x", false)); !errors.Is(err, ErrLicenseRevoked) {
		t.Fatalf("disabled license at the issuer: %v", err)
	}
	if sums, _ := l.Summaries(Filter{}); !sums[0].DisabledAt.Equal(*now) {
		t.Fatalf("the report does not show the license disabled: %+v", sums[0])
	}
	if n := notes(t, l, "license-disabled"); len(n) != 2 {
		t.Fatalf("disabled: %d notifications, want customer and fraud team", len(n))
	}
}

// Decommissioning the old machine completes the migration: the new device
// holds the seat for good and its next activation does not expire; a flag
// raised before is resolved and the phone call is done.
func TestMigrationCompleted(t *testing.T) {
	l, k, tok, now, old := migrationLedger(t)
	start := *now
	newMachine := syntheticMachine(3)
	if _, err := l.Activate(k, requestFor(t, tok, newMachine, "new", false)); err != nil {
		t.Fatal(err)
	}
	*now = start.Add(31 * 24 * time.Hour)
	if acts, _ := l.Sweep(); len(acts) != 1 {
		t.Fatalf("not flagged: %v", acts)
	}
	if err := l.Decommission(old[0].Device); err != nil {
		t.Fatal(err)
	}
	if migrating(t, l) != 0 {
		t.Fatal("still migrating after the old machine was decommissioned")
	}
	if n := notes(t, l, "migration-complete"); len(n) != 1 {
		t.Fatalf("customer not told the migration is complete: %+v", n)
	}
	var flagged, open int
	l.db.QueryRow(`SELECT COUNT(*) FROM licenses WHERE flagged_at IS NOT NULL`).Scan(&flagged)
	l.db.QueryRow(`SELECT COUNT(*) FROM tasks WHERE done_at IS NULL`).Scan(&open)
	if flagged != 0 || open != 0 {
		t.Fatalf("flag %d, open tasks %d after resolution", flagged, open)
	}
	*now = start.Add(31*24*time.Hour + 2*DefaultFraudNotice)
	if acts, _ := l.Sweep(); len(acts) != 0 {
		t.Fatalf("a resolved license was swept: %v", acts)
	}
	r, err := l.Activate(k, requestFor(t, tok, newMachine, "new", false))
	if err != nil || r.Outcome != SameDevice || !r.MigrationUntil.IsZero() {
		t.Fatalf("re-activation after the migration: %+v %v", r, err)
	}
	if c := activationClaims(t, r.Token); !c.Expires.Equal(ledgerNow.AddDate(1, 0, 0)) {
		t.Fatalf("the permanent activation expires %v, want the license's end", c.Expires)
	}
	if used := seatsUsed(t, l, tok); used != 2 {
		t.Fatalf("%d seats used after the migration", used)
	}
}

// A license that allows overage bills the extra device instead, and a
// per-deployment license has no migrations: each deployment is for good.
func TestMigrationNotForOverageOrDeployments(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{OverageAllowed: true, OveragePriceCents: 100}); err != nil {
		t.Fatal(err)
	}
	l.Activate(k, requestFor(t, tok, syntheticMachine(1), "a", false))
	if r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "b", false)); err != nil || !r.Overage || !r.MigrationUntil.IsZero() {
		t.Fatalf("overage license: %+v %v", r, err)
	}
	dep := mintFor(t, k, "Initech", 1, license.PerDeployment, 0)
	l.Activate(k, requestFor(t, dep, syntheticMachine(3), "a", false))
	if _, err := l.Activate(k, requestFor(t, dep, syntheticMachine(4), "b", false)); !errors.Is(err, ErrSeatsExhausted) {
		t.Fatalf("per-deployment: %v", err)
	}
}

func activationClaims(t *testing.T, tok []byte) *activation.Claims {
	t.Helper()
	c, _, _, err := activation.Inspect(tok)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Decommissioning a failover installation frees no seat, so it does not
// complete a migration: no chain of migrations through failover devices.
func TestMigrationNotCompletedByFailover(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 3)
	if err := l.RecordLicense(k, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "a", false)); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		f, err := l.Activate(k, requestFor(t, tok, syntheticMachine(10+round), "failover", true))
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if m, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "b", false)); err != nil || m.MigrationUntil.IsZero() {
				t.Fatalf("migration: %+v %v", m, err)
			}
		}
		if err := l.Decommission(f.Device); err != nil {
			t.Fatal(err)
		}
		if migrating(t, l) != 1 {
			t.Fatalf("round %d: decommissioning a failover installation ended the migration", round)
		}
	}
	if used := seatsUsed(t, l, tok); used != 1 {
		t.Fatalf("%d seats used on a 1-seat license", used)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(3), "c", false)); !errors.Is(err, ErrSeatsExhausted) {
		t.Fatalf("a third machine: %v", err)
	}
}

// Decommissioning the migrating device itself cancels the migration and
// resolves a fraud flag: a customer who gives up the new machine is not
// disabled later.
func TestMigrationCancelledResolvesFlag(t *testing.T) {
	l, k, tok, now, _ := migrationLedger(t)
	start := *now
	m, err := l.Activate(k, requestFor(t, tok, syntheticMachine(3), "new", false))
	if err != nil {
		t.Fatal(err)
	}
	*now = start.Add(31 * 24 * time.Hour)
	if acts, _ := l.Sweep(); len(acts) != 1 || acts[0].Action != "flagged" {
		t.Fatalf("not flagged: %v", acts)
	}
	if err := l.Decommission(m.Device); err != nil {
		t.Fatal(err)
	}
	var flagged, open int
	l.db.QueryRow(`SELECT COUNT(*) FROM licenses WHERE flagged_at IS NOT NULL`).Scan(&flagged)
	l.db.QueryRow(`SELECT COUNT(*) FROM tasks WHERE done_at IS NULL`).Scan(&open)
	if flagged != 0 || open != 0 || migrating(t, l) != 0 {
		t.Fatalf("after cancelling: flag %d, open tasks %d, migrating %d", flagged, open, migrating(t, l))
	}
	*now = start.Add(60 * 24 * time.Hour)
	if acts, _ := l.Sweep(); len(acts) != 0 {
		t.Fatalf("a cancelled migration was swept: %v", acts)
	}
}
