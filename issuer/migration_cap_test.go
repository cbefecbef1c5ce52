package issuer

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// TestMigrationRotationCapped is the attack: a customer with every seat
// taken keeps one more machine running for good by migrating to a fresh
// machine and decommissioning it (which cancels the migration, no flag)
// before each grace ends, then migrating to the next. The license's
// migrations in 365 days are capped (four by default), cancelled ones
// included; past the cap the next machine is refused with the reason, and a
// year after the first the cap frees one again.
func TestMigrationRotationCapped(t *testing.T) {
	l, k, tok, now, _ := migrationLedger(t)
	start := *now
	rotate := func(i int) error {
		r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(100+i), fmt.Sprint("vm", i), false))
		if err != nil {
			return err
		}
		if r.MigrationUntil.IsZero() {
			t.Fatalf("vm%d: not a migration", i)
		}
		*now = now.Add(29 * 24 * time.Hour) // cancel just before the grace ends
		err = l.Decommission(r.Device)
		return err
	}
	for i := 0; i < DefaultMigrationsPerYear; i++ {
		if err := rotate(i); err != nil {
			t.Fatalf("migration %d of %d: %v", i+1, DefaultMigrationsPerYear, err)
		}
	}
	_, err := l.Activate(k, requestFor(t, tok, syntheticMachine(200), "vm-next", false))
	if !errors.Is(err, ErrSeatsExhausted) || !strings.Contains(err.Error(), "4 server migrations in 365 days are used") ||
		!strings.Contains(err.Error(), start.Format(time.DateOnly)) {
		t.Fatalf("migration past the cap: %v", err)
	}
	*now = start.Add(365*24*time.Hour + time.Second) // the first one leaves the window
	if err := rotate(9); err != nil {
		t.Fatalf("a year after the first: %v", err)
	}
}

// TestMigrationCapPolicy: a license's own cap, and no cap.
func TestMigrationCapPolicy(t *testing.T) {
	for _, tc := range []struct {
		perYear, allowed int
	}{{1, 1}, {2, 2}, {-1, 6}} {
		t.Run(fmt.Sprint(tc.perYear), func(t *testing.T) {
			l, _ := newLedger(t)
			clock := ledgerNow
			l.Now = func() time.Time { return clock }
			k := testIssuerKey(t)
			tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
			if err := l.RecordLicense(k, tok, LicensePolicy{MigrationsPerYear: tc.perYear}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "old", false)); err != nil {
				t.Fatal(err)
			}
			started := 0
			for i := 0; i < 6; i++ {
				r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(10+i), "vm", false))
				if errors.Is(err, ErrSeatsExhausted) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				started++
				clock = clock.Add(24 * time.Hour)
				if err := l.Decommission(r.Device); err != nil {
					t.Fatal(err)
				}
			}
			if started != tc.allowed {
				t.Fatalf("%d migrations started, want %d", started, tc.allowed)
			}
		})
	}
}

// TestTransferKeepsPolicy: the new license ID carries the old one's terms,
// not the defaults (a license without migrations must not gain them by a
// transfer, nor lose its lease or cap).
func TestTransferKeepsPolicy(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	c := proLicense(1)
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	want := LicensePolicy{OverageAllowed: false, OveragePriceCents: 1234, MigrationGrace: -1, FraudNotice: 3 * 24 * time.Hour, Lease: 48 * time.Hour, MigrationsPerYear: 2}
	if err := l.RecordLicense(k, tok, want); err != nil {
		t.Fatal(err)
	}
	r, err := l.Transfer(k, c.ID, "Initech", "ticket 1")
	if err != nil {
		t.Fatal(err)
	}
	var got LicensePolicy
	if err := l.tx(func(tx *sql.Tx) (err error) { got, err = storedPolicy(tx, r.Claims.ID); return }); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("transferred policy %+v, want %+v", got, want)
	}
	// No migrations: a second machine on the one seat is refused outright.
	if _, err := l.Activate(k, requestFor(t, r.Token, syntheticMachine(1), "a", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, r.Token, syntheticMachine(2), "b", false)); !errors.Is(err, ErrSeatsExhausted) {
		t.Fatalf("a transferred license without migrations migrated: %v", err)
	}
}

// TestMigrationCapWindowInclusive: SPEC 10.4 rule 11 says "at most its
// cap of migrations in any 365 days". migrationsStarted counts
// started_at > now-365d, so a start exactly 365 days after the first one
// is a fifth start inside the closed span [t0, t0+365d].
func TestMigrationCapWindowInclusive(t *testing.T) {
	l, k, tok, now, _ := migrationLedger(t)
	t0 := *now
	for i := 0; i < DefaultMigrationsPerYear; i++ {
		r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(100+i), fmt.Sprint("vm", i), false))
		if err != nil || r.MigrationUntil.IsZero() {
			t.Fatalf("migration %d: %v", i, err)
		}
		if err := l.Decommission(r.Device); err != nil {
			t.Fatal(err)
		}
		*now = now.Add(time.Hour)
	}
	*now = t0.Add(migrationYear)
	r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(200), "vm-5", false))
	if err == nil && !r.MigrationUntil.IsZero() {
		t.Fatalf("a fifth migration started at %s, exactly 365 days after the first (%s): 5 starts within 365 days", *now, t0)
	}
}

// TestMigrationCapBackfill: migration 17 back-fills only
// migrations still in progress. A ledger upgraded after a customer's four
// cancelled rotations in the last weeks grants four more at once, although
// the events (migration-cancelled / migration-complete, at most one grace
// after each start) say the year's cap is used.
func TestMigrationCapBackfill(t *testing.T) {
	if onPostgres {
		t.Skip("the downgrade below is SQLite DDL")
	}
	l, path := newLedger(t)
	clock := ledgerNow
	now := &clock
	l.Now = func() time.Time { return *now }
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 2, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(i), "old", false)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < DefaultMigrationsPerYear; i++ {
		r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(100+i), fmt.Sprint("vm", i), false))
		if err != nil {
			t.Fatal(err)
		}
		*now = now.Add(29 * 24 * time.Hour)
		if err := l.Decommission(r.Device); err != nil {
			t.Fatal(err)
		}
	}
	// The same ledger as a schema-16 one, then upgraded by OpenLedger.
	for _, q := range []string{`DROP TABLE rate_limits`, `DROP TABLE migration_starts`, `ALTER TABLE licenses DROP COLUMN migrations_per_year`,
		`DELETE FROM schema_migrations WHERE version >= 17`} {
		if _, err := l.db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	l.Close()
	l2, err := OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	l2.Now = func() time.Time { return *now }
	r, err := l2.Activate(k, requestFor(t, tok, syntheticMachine(300), "vm-after-upgrade", false))
	if !errors.Is(err, ErrSeatsExhausted) {
		t.Fatalf("after the upgrade a 5th migration in %d days started (until %s): the 4 cancelled ones were not back-filled",
			4*29, r.MigrationUntil.Format(time.DateOnly))
	}
}

// TestTransferKeepsMigrationCount: the new license ID of a transfer starts
// with the old one's migrations: a transfer does not reset the cap.
func TestTransferKeepsMigrationCount(t *testing.T) {
	l, _ := newLedger(t)
	clock := ledgerNow
	l.Now = func() time.Time { return clock }
	k := testIssuerKey(t)
	c := proLicense(1)
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.RecordLicense(k, tok, LicensePolicy{MigrationsPerYear: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "old", false)); err != nil {
		t.Fatal(err)
	}
	r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "vm", false))
	if err != nil || r.MigrationUntil.IsZero() {
		t.Fatalf("the one migration: %v", err)
	}
	clock = clock.Add(24 * time.Hour)
	if err := l.Decommission(r.Device); err != nil {
		t.Fatal(err)
	}
	re, err := l.Transfer(k, c.ID, "Initech", "ticket 12")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, re.Token, syntheticMachine(1), "old", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, re.Token, syntheticMachine(3), "vm2", false)); !errors.Is(err, ErrSeatsExhausted) {
		t.Fatalf("a migration after the transfer, the cap of 1 used: %v", err)
	}
}
