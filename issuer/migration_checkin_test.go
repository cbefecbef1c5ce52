package issuer

import (
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

const oneDay = 24 * time.Hour

// checkinRig is migrationLedger with the migration started a day after the
// old machines (1 and 2) were activated; the new machine is 3.
type checkinRig struct {
	l     *Ledger
	k     *Key
	tok   []byte
	now   *time.Time
	start time.Time
	acts  [3]*Result // old 1, old 2, new
}

func newCheckinRig(t *testing.T) *checkinRig {
	t.Helper()
	l, k, tok, now, old := migrationLedger(t)
	x := &checkinRig{l: l, k: k, tok: tok, now: now, start: ledgerNow.Add(oneDay)}
	x.acts[0], x.acts[1] = old[0], old[1]
	return x
}

// at moves the clock to d after the migration's start (negative: before).
func (x *checkinRig) at(d time.Duration) { *x.now = x.start.Add(d) }

func (x *checkinRig) migrate(t *testing.T) {
	t.Helper()
	x.at(0)
	m, err := x.l.Activate(x.k, requestFor(t, x.tok, syntheticMachine(3), "new", false))
	if err != nil || m.MigrationUntil.IsZero() {
		t.Fatalf("migration: %+v %v", m, err)
	}
	x.acts[2] = m
}

// checkIn checks machine i (0, 1 old; 2 new) in with its activation.
func (x *checkinRig) checkIn(t *testing.T, i int) {
	t.Helper()
	if _, err := x.l.CheckIn(x.k, x.acts[i].Token, syntheticMachine(i+1).Digest(product), 0); err != nil {
		t.Fatalf("check-in of machine %d: %v", i+1, err)
	}
}

func (x *checkinRig) sweep(t *testing.T) []SweepAction {
	t.Helper()
	acts, err := x.l.Sweep()
	if err != nil {
		t.Fatal(err)
	}
	return acts
}

// When a migration's grace ends, check-ins decide between a fraud flag and
// a reminder (SPEC 10.4 rule 11): an old machine that checked in before and
// has not been seen since the cutoff (InactiveAfter, or the migration's
// start) is evidently retired: the customer is reminded once and nothing is
// flagged or decommissioned. Machines that never checked in count as in
// use. Day 0 and day 29 change nothing either way; a second sweep changes
// nothing.
func TestSweepUsesCheckIns(t *testing.T) {
	type ci struct {
		machine int // 0, 1: old; 2: new
		at      time.Duration
	}
	cases := []struct {
		name     string
		inactive time.Duration
		checkIns []ci
		want     string   // the action at day 31
		detail   []string // in the action's detail
		not      []string // not in it
	}{
		{name: "no check-ins: in use, flagged", want: "flagged", not: []string{"Check-ins"}},
		{name: "old machine seen only before the migration: reminded",
			checkIns: []ci{{0, -12 * time.Hour}}, want: "reminded", detail: []string{`"old"`, "last seen " + ledgerNow.Add(12*time.Hour).Format(time.DateOnly)}},
		{name: "old machine seen before, never since; other old machine never checked in: reminded",
			checkIns: []ci{{1, -time.Hour}}, want: "reminded"},
		{name: "both old and the new machine checked in during the grace: flagged with the evidence",
			checkIns: []ci{{0, -time.Hour}, {0, 10 * oneDay}, {1, 10 * oneDay}, {2, 12 * oneDay}}, want: "flagged",
			detail: []string{"Check-ins during the grace", "and the new machine (last " + ledgerNow.Add(13*oneDay).Format(time.DateOnly)}},
		{name: "old machine seen on day 2 of the grace: within 30 days, flagged",
			checkIns: []ci{{0, -time.Hour}, {0, 2 * oneDay}}, want: "flagged", detail: []string{"Check-ins during the grace: old machine(s)"}},
		{name: "a shorter inactivity period: seen on day 15, unseen for 16 days by day 31: reminded",
			inactive: 10 * oneDay, checkIns: []ci{{0, 15 * oneDay}}, want: "reminded"},
		{name: "check-ins not used (negative period): flagged",
			inactive: -1, checkIns: []ci{{0, -time.Hour}}, want: "flagged"},
		{name: "only the new machine checked in: flagged", checkIns: []ci{{2, 3 * oneDay}}, want: "flagged", not: []string{"Check-ins"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := newCheckinRig(t)
			x.l.InactiveAfter = tc.inactive
			for _, c := range tc.checkIns {
				if c.at < 0 {
					x.at(c.at)
					x.checkIn(t, c.machine)
				}
			}
			x.migrate(t)
			if acts := x.sweep(t); len(acts) != 0 {
				t.Fatalf("day 0: %v", acts)
			}
			for _, c := range tc.checkIns {
				if c.at >= 0 {
					x.at(c.at)
					x.checkIn(t, c.machine)
				}
			}
			x.at(29 * oneDay)
			if acts := x.sweep(t); len(acts) != 0 {
				t.Fatalf("day 29: %v", acts)
			}
			x.at(31 * oneDay)
			acts := x.sweep(t)
			if len(acts) != 1 || acts[0].Action != tc.want {
				t.Fatalf("day 31: %+v, want %s", acts, tc.want)
			}
			for _, s := range tc.detail {
				if !strings.Contains(acts[0].Detail, s) {
					t.Errorf("detail %q lacks %q", acts[0].Detail, s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(acts[0].Detail, s) {
					t.Errorf("detail %q has %q", acts[0].Detail, s)
				}
			}
			if again := x.sweep(t); len(again) != 0 {
				t.Fatalf("a second sweep: %v", again)
			}
			reminders, flags := notes(t, x.l, "migration-reminder"), notes(t, x.l, "fraud-flag")
			switch tc.want {
			case "reminded":
				if len(reminders) != 1 || len(flags) != 0 || reminders[0].Recipient != "it@globex.example" {
					t.Fatalf("reminded: %d reminders, %d flags", len(reminders), len(flags))
				}
				if sums, _ := x.l.Summaries(Filter{}); !sums[0].FlaggedAt.IsZero() {
					t.Fatal("a reminded license is flagged")
				}
				// Nothing was decommissioned for the customer.
				var active int
				x.l.db.QueryRow(`SELECT COUNT(*) FROM devices WHERE status <> 'decommissioned'`).Scan(&active)
				if active != 3 {
					t.Fatalf("%d devices in use after a reminder, want 3", active)
				}
				// Long after, still nothing more: never disabled by a reminder.
				x.at(31*oneDay + 2*DefaultFraudNotice)
				if later := x.sweep(t); len(later) != 0 {
					t.Fatalf("weeks after the reminder: %v", later)
				}
			case "flagged":
				if len(reminders) != 0 || len(flags) != 1 {
					t.Fatalf("flagged: %d reminders, %d flags", len(reminders), len(flags))
				}
				if ev := notes(t, x.l, "migration-overdue"); len(tc.detail) > 0 && !strings.Contains(ev[0].Body, tc.detail[0]) {
					t.Errorf("the customer's notice lacks the evidence: %s", ev[0].Body)
				}
			}
		})
	}
}

// The attacker: the old machine stops checking in but is still used, then
// checks in again after the reminder. The check-in re-arms the flag at the
// next sweep, which says so; the notice period then runs as usual.
func TestReminderRearmedByCheckIn(t *testing.T) {
	x := newCheckinRig(t)
	x.at(-time.Hour)
	x.checkIn(t, 0)
	x.migrate(t)
	x.at(31 * oneDay)
	if acts := x.sweep(t); len(acts) != 1 || acts[0].Action != "reminded" {
		t.Fatalf("day 31: %v", acts)
	}
	x.at(32 * oneDay)
	x.checkIn(t, 0) // the "retired" machine was in use all along
	x.at(33 * oneDay)
	acts := x.sweep(t)
	if len(acts) != 1 || acts[0].Action != "flagged" || !strings.Contains(acts[0].Detail, "After the reminder") ||
		!strings.Contains(acts[0].Detail, ledgerNow.Add(33*oneDay).Format(time.DateOnly)) {
		t.Fatalf("after the old machine checked in again: %+v", acts)
	}
	if again := x.sweep(t); len(again) != 0 {
		t.Fatalf("a second sweep: %v", again)
	}
	x.at(33*oneDay + DefaultFraudNotice)
	if acts := x.sweep(t); len(acts) != 1 || acts[0].Action != "disabled" {
		t.Fatalf("after the notice period: %v", acts)
	}
}

// A reminded customer who decommissions the unseen machine completes the
// migration: no flag, no reminder again, the new machine holds the seat.
func TestReminderThenDecommission(t *testing.T) {
	x := newCheckinRig(t)
	x.at(-time.Hour)
	x.checkIn(t, 1)
	x.migrate(t)
	x.at(31 * oneDay)
	if acts := x.sweep(t); len(acts) != 1 || acts[0].Action != "reminded" || !strings.Contains(acts[0].Detail, x.acts[1].Device.String()) {
		t.Fatalf("day 31: %v", acts)
	}
	if err := x.l.Decommission(x.acts[1].Device); err != nil {
		t.Fatal(err)
	}
	if migrating(t, x.l) != 0 || len(notes(t, x.l, "migration-complete")) != 1 {
		t.Fatal("the migration did not complete")
	}
	x.at(60 * oneDay)
	if acts := x.sweep(t); len(acts) != 0 {
		t.Fatalf("after the decommission: %v", acts)
	}
	r, err := x.l.Activate(x.k, requestFor(t, x.tok, syntheticMachine(3), "new", false))
	if err != nil || r.Outcome != SameDevice || !r.MigrationUntil.IsZero() {
		t.Fatalf("the new machine afterwards: %+v %v", r, err)
	}
}

// A failover installation that stopped checking in is no evidence: it
// holds no seat, so its absence explains nothing about the migration.
func TestSweepIgnoresUnseenFailover(t *testing.T) {
	l, _ := newLedger(t)
	clock := ledgerNow
	l.Now = func() time.Time { return clock }
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 1)
	if err := l.RecordLicense(k, tok, LicensePolicy{Contact: "it@globex.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "old", false)); err != nil {
		t.Fatal(err)
	}
	f, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "standby", true))
	if err != nil || !f.Failover {
		t.Fatalf("failover: %+v %v", f, err)
	}
	if _, err := l.CheckIn(k, f.Token, syntheticMachine(2).Digest(product), 0); err != nil {
		t.Fatal(err)
	}
	clock = ledgerNow.Add(oneDay)
	if m, err := l.Activate(k, requestFor(t, tok, syntheticMachine(3), "new", false)); err != nil || m.MigrationUntil.IsZero() {
		t.Fatalf("migration: %+v %v", m, err)
	}
	clock = ledgerNow.Add(32 * oneDay)
	if acts, err := l.Sweep(); err != nil || len(acts) != 1 || acts[0].Action != "flagged" {
		t.Fatalf("day 31: %v %v", acts, err)
	}
}
