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
