package issuer

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/license"
)

// Server migrations (SPEC 10.4 rule 11). One active installation per seat:
// when a license whose seats are all taken, and which does not allow
// overage, gets another device while the others are still active, that is a
// server migration. The new device is activated for a grace period (30 days
// unless the license says otherwise), and its activation token expires when
// the grace ends, so an offline machine enforces it too. Decommissioning the
// old machine ends the migration: the new device becomes an ordinary one and
// its next activation does not expire. If the grace ends with both still
// active, Sweep flags the license as fraudulent (the customer's contact and
// the vendor's fraud team are told, and a phone call is recorded as a task);
// if that is not resolved within the notice period, Sweep disables the
// license: revoked (abuse) into the next revocation list, refused by the
// issuer. One migration at a time per license.

// Defaults for a license's migration rules.
const (
	DefaultMigrationGrace = 30 * 24 * time.Hour
	DefaultFraudNotice    = 14 * 24 * time.Hour
	// DefaultMigrationsPerYear: a license may start four server migrations
	// in any 365 days (at most 120 days of two machines on one seat with
	// the default grace); past the cap the old machine is decommissioned
	// first, as for any move.
	DefaultMigrationsPerYear = 4
)

// migrationYear is the window the cap counts in.
const migrationYear = 365 * 24 * time.Hour

// migrationCapMigration records each migration a license starts, and the
// license's cap (-1: none). A ledger upgraded to it counts the migrations in
// progress from their start, and those that ended (cancelled or complete)
// from when they ended, the latest their start can be counted from: a
// customer's earlier rotations are not forgotten by the upgrade (found in
// review).
const migrationCapMigration = `ALTER TABLE licenses ADD COLUMN migrations_per_year INTEGER NOT NULL DEFAULT 4;
	CREATE TABLE migration_starts (
		license_id BLOB NOT NULL REFERENCES licenses(id),
		device_id BLOB NOT NULL,
		started_at INTEGER NOT NULL
	);
	CREATE INDEX migration_starts_license ON migration_starts(license_id, started_at);
	INSERT INTO migration_starts (license_id, device_id, started_at)
		SELECT license_id, id, migration_until - (SELECT migration_grace FROM licenses WHERE licenses.id = devices.license_id)
		FROM devices WHERE migration_until IS NOT NULL;
	INSERT INTO migration_starts (license_id, device_id, started_at)
		SELECT license_id, device_id, at FROM events
		WHERE kind IN ('migration-cancelled', 'migration-complete') AND license_id IS NOT NULL AND device_id IS NOT NULL;`

// migrationCap is the stored form of MigrationsPerYear.
func (p *LicensePolicy) migrationCap() int {
	switch {
	case p.MigrationsPerYear == 0:
		return DefaultMigrationsPerYear
	case p.MigrationsPerYear < 0:
		return -1
	}
	return p.MigrationsPerYear
}

// migrationsStarted counts the migrations lic started in the 365 days up to
// now, both ends included, and when the oldest of them started.
func migrationsStarted(tx *sql.Tx, lic license.ID, now time.Time) (n int, oldest time.Time, err error) {
	var first sql.NullInt64
	err = tx.QueryRow(`SELECT COUNT(*), MIN(started_at) FROM migration_starts WHERE license_id = ? AND started_at >= ?`,
		lic[:], now.Add(-migrationYear).Unix()).Scan(&n, &first)
	if first.Valid {
		oldest = time.Unix(first.Int64, 0).UTC()
	}
	return n, oldest, err
}

// DefaultInactiveAfter is how long a device that has checked in before may
// go unseen before Sweep takes it for retired (Ledger.InactiveAfter): the
// default migration grace, and far longer than a client's check-in interval
// (daily is usual) or a sensible lease, so a machine in use is not missed
// for a few failed check-ins.
const DefaultInactiveAfter = 30 * 24 * time.Hour

// checkinRulesMigration records, on a migrating device, the grace end
// (migration_until) of the migration the customer was reminded about, so
// that a reminder is sent once per migration and belongs to that one only.
const checkinRulesMigration = `ALTER TABLE devices ADD COLUMN reminded_migration INTEGER;`

// ErrMigrationOver refuses a migrating device once its grace has ended.
var ErrMigrationOver = errors.New("server migration grace has ended")

const migrationMigration = `ALTER TABLE licenses ADD COLUMN migration_grace INTEGER NOT NULL DEFAULT 2592000;
	ALTER TABLE licenses ADD COLUMN fraud_notice INTEGER NOT NULL DEFAULT 1209600;
	ALTER TABLE licenses ADD COLUMN flagged_at INTEGER;
	ALTER TABLE licenses ADD COLUMN flag_deadline INTEGER;
	ALTER TABLE licenses ADD COLUMN disabled_at INTEGER;
	ALTER TABLE devices ADD COLUMN migration_until INTEGER;
	CREATE INDEX devices_migrating ON devices(migration_until) WHERE migration_until IS NOT NULL;
	CREATE TABLE tasks (
		id INTEGER PRIMARY KEY,
		at INTEGER NOT NULL,
		license_id BLOB NOT NULL,
		kind TEXT NOT NULL,
		assignee TEXT NOT NULL,
		detail TEXT NOT NULL,
		done_at INTEGER
	);`

// durations turns a LicensePolicy's migration settings into the stored
// seconds: zero means the default, a negative grace means none.
func (p *LicensePolicy) durations() (grace, notice int64) {
	g, n := p.MigrationGrace, p.FraudNotice
	if g == 0 {
		g = DefaultMigrationGrace
	}
	if g < 0 {
		g = 0
	}
	if n <= 0 {
		n = DefaultFraudNotice
	}
	return int64(g / time.Second), int64(n / time.Second)
}

// migration reads the license's migration in progress, if any.
func migration(tx *sql.Tx, lic license.ID) (dev activation.DeviceID, until time.Time, ok bool, err error) {
	var id []byte
	var u int64
	err = tx.QueryRow(`SELECT id, migration_until FROM devices WHERE license_id = ? AND migration_until IS NOT NULL AND status <> 'decommissioned'`, lic[:]).Scan(&id, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return dev, until, false, nil
	} else if err != nil {
		return dev, until, false, err
	}
	copy(dev[:], id)
	return dev, time.Unix(u, 0).UTC(), true, nil
}

// endMigration is called when a device of lic is about to be
// decommissioned (before its status changes): if dev is the migrating
// device, the migration is called off; if it is another device that holds a
// seat (heldSeat: not a failover installation), the migration is complete
// and the new device is an ordinary one. Either way a fraud flag on the
// license is resolved. Decommissioning a failover installation changes
// nothing: it frees no seat for the migrating device.
func (l *Ledger) endMigration(tx *sql.Tx, custID int64, contact string, lic license.ID, dev activation.DeviceID, heldSeat bool) error {
	mdev, _, ok, err := migration(tx, lic)
	if err != nil || !ok || (mdev != dev && !heldSeat) {
		return err
	}
	if _, err := tx.Exec(`UPDATE devices SET migration_until = NULL WHERE id = ?`, mdev[:]); err != nil {
		return err
	}
	var flagged sql.NullInt64
	if err := tx.QueryRow(`SELECT flagged_at FROM licenses WHERE id = ? AND disabled_at IS NULL`, lic[:]).Scan(&flagged); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if flagged.Valid {
		if _, err := tx.Exec(`UPDATE licenses SET flagged_at = NULL, flag_deadline = NULL WHERE id = ?`, lic[:]); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE tasks SET done_at = ? WHERE license_id = ? AND done_at IS NULL`, l.now().Unix(), lic[:]); err != nil {
			return err
		}
		if err := l.event(tx, "fraud-flag-resolved", custID, lic[:], dev[:], "a machine was decommissioned"); err != nil {
			return err
		}
	}
	if mdev == dev {
		return l.event(tx, "migration-cancelled", custID, lic[:], dev[:], "the migrating device was decommissioned")
	}
	if err := l.note(tx, custID, lic, "migration-complete", contact, "Server migration complete",
		fmt.Sprintf("The old machine %s of license %s was decommissioned. The new machine %s now holds the seat for good: request its activation again to receive one that does not expire.", dev, lic, mdev)); err != nil {
		return err
	}
	return l.event(tx, "migration-complete", custID, lic[:], mdev[:], "old device "+dev.String()+" decommissioned")
}

// SweepAction is one thing Sweep did.
type SweepAction struct {
	License license.ID `json:"license"`
	Action  string     `json:"action"` // "reminded", "flagged" or "disabled"
	Detail  string     `json:"detail"`
}

// seen is one seat-holding device of a license as check-ins show it.
type seen struct {
	id       activation.DeviceID
	label    string
	last     time.Time // the later of its last check-in and its last activation
	checkIns int64
}

// evidence is what check-ins say about a license's machines when a
// migration's grace ends (SPEC 10.4 rule 11).
type evidence struct {
	unseen    []seen    // checked in before, not since the cutoff: evidently retired
	during    []seen    // old machines that checked in during the grace
	newSeen   time.Time // the migrating device's last check-in, zero: never
	newDuring bool      // it checked in during the grace
}

// inactiveAfter is the ledger's inactivity period; zero: the default,
// negative: check-ins are not used as evidence.
func (l *Ledger) inactiveAfter() time.Duration {
	if l.InactiveAfter == 0 {
		return DefaultInactiveAfter
	}
	return l.InactiveAfter
}

// migrationEvidence classifies the seat-holding devices of lic other than
// the migrating one mdev (failover installations hold no seat) for a
// migration that started at start: a device that has checked in at least
// once and whose last sign of life (check-in or activation) is older than
// now - InactiveAfter, or older than the migration's start, is unseen. A
// device that never checked in (air-gapped, the offline flow) counts as in
// use: nothing says otherwise.
func (l *Ledger) migrationEvidence(tx *sql.Tx, lic license.ID, mdev activation.DeviceID, start, now time.Time) (*evidence, error) {
	ev := &evidence{}
	var newSeen int64
	if err := tx.QueryRow(`SELECT COALESCE(MAX(last_seen), 0) FROM device_checkins WHERE device_id = ? AND checkins > 0`, mdev[:]).Scan(&newSeen); err != nil {
		return nil, err
	}
	if newSeen > 0 {
		ev.newSeen = time.Unix(newSeen, 0).UTC()
		ev.newDuring = !ev.newSeen.Before(start)
	}
	rows, err := tx.Query(`SELECT d.id, d.label, d.last_activated, COALESCE(k.last_seen, 0), COALESCE(k.checkins, 0) FROM devices d
		LEFT JOIN device_checkins k ON k.device_id = d.id
		WHERE d.license_id = ? AND d.id <> ? AND d.status <> 'decommissioned' AND d.failover = 0 ORDER BY d.first_activated, d.id`, lic[:], mdev[:])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cutoff := now.Add(-l.inactiveAfter())
	for rows.Next() {
		var d seen
		var id []byte
		var activated, checkedIn int64
		if err := rows.Scan(&id, &d.label, &activated, &checkedIn, &d.checkIns); err != nil {
			return nil, err
		}
		copy(d.id[:], id)
		d.last = time.Unix(max(activated, checkedIn), 0).UTC()
		switch {
		case d.checkIns == 0:
		case d.last.Before(cutoff) || d.last.Before(start):
			ev.unseen = append(ev.unseen, d)
		case checkedIn >= start.Unix():
			ev.during = append(ev.during, d)
		}
	}
	return ev, rows.Err()
}

// describe lists devices as "label" (dev_...) last seen DATE.
func describe(ds []seen) string {
	var parts []string
	for _, d := range ds {
		parts = append(parts, fmt.Sprintf("%q (%s) last seen %s", d.label, d.id, d.last.Format(time.DateOnly)))
	}
	return strings.Join(parts, ", ")
}

// proof is the flag's evidence from check-ins, for the notifications.
func (ev *evidence) String() string {
	if len(ev.during) == 0 {
		return ""
	}
	s := "Check-ins during the grace: old machine(s) " + describe(ev.during)
	if ev.newDuring {
		s += " and the new machine (last " + ev.newSeen.Format(time.DateOnly) + ")"
	}
	return s + "."
}

// Sweep applies the time-based rules as of now: migrations whose grace has
// ended with both machines active flag their license as fraudulent; flags
// not resolved within the notice period disable the license. It is meant for
// a daily scheduler and is idempotent: a second run changes nothing.
func (l *Ledger) Sweep() ([]SweepAction, error) {
	var out []SweepAction
	err := l.tx(func(tx *sql.Tx) error {
		out = nil
		now := l.now().Unix()
		type row struct {
			lic     license.ID
			dev     activation.DeviceID
			custID  int64
			contact string
			at      int64
			notice  int64
		}
		scan := func(q string, args ...any) ([]row, error) {
			rows, err := tx.Query(q, args...)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var rs []row
			for rows.Next() {
				var r row
				var lic, dev []byte
				if err := rows.Scan(&lic, &dev, &r.custID, &r.contact, &r.at, &r.notice); err != nil {
					return nil, err
				}
				copy(r.lic[:], lic)
				copy(r.dev[:], dev)
				rs = append(rs, r)
			}
			return rs, rows.Err()
		}
		type migrating struct {
			row
			grace    int64
			reminded bool
		}
		var overdue []migrating
		rows, err := tx.Query(`SELECT l.id, d.id, c.id, c.contact, d.migration_until, l.fraud_notice, l.migration_grace,
			CASE WHEN d.reminded_migration = d.migration_until THEN 1 ELSE 0 END FROM devices d
			JOIN licenses l ON l.id = d.license_id JOIN customers c ON c.id = l.customer_id
			WHERE d.migration_until IS NOT NULL AND d.migration_until <= ? AND d.status <> 'decommissioned'
			AND l.flagged_at IS NULL AND l.disabled_at IS NULL ORDER BY l.id`, now)
		if err != nil {
			return err
		}
		for rows.Next() {
			var m migrating
			var lic, dev []byte
			if err := rows.Scan(&lic, &dev, &m.custID, &m.contact, &m.at, &m.notice, &m.grace, &m.reminded); err != nil {
				rows.Close()
				return err
			}
			copy(m.lic[:], lic)
			copy(m.dev[:], dev)
			overdue = append(overdue, m)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range overdue {
			ended := time.Unix(r.at, 0).UTC().Format(time.DateOnly)
			ev := &evidence{}
			if l.inactiveAfter() > 0 {
				if ev, err = l.migrationEvidence(tx, r.lic, r.dev, time.Unix(r.at-r.grace, 0).UTC(), time.Unix(now, 0).UTC()); err != nil {
					return err
				}
			}
			if len(ev.unseen) > 0 {
				// A machine that checked in before has not been seen since
				// the cutoff: evidently retired. No flag; the customer is
				// asked, once per migration, to decommission it.
				if r.reminded {
					continue
				}
				if _, err := tx.Exec(`UPDATE devices SET reminded_migration = ? WHERE id = ?`, r.at, r.dev[:]); err != nil {
					return err
				}
				names := describe(ev.unseen)
				if err := l.note(tx, r.custID, r.lic, "migration-reminder", r.contact, "Reminder: decommission the machine you replaced",
					fmt.Sprintf("The server migration grace of license %s ended on %s. The new machine %s stopped with it and the old machine(s) %s have not checked in since. "+
						"If you retired them, decommission them: the new machine then holds the seat for good (request its activation again). "+
						"Nothing was decommissioned for you; if a machine named here is still in use, it will be seen at its next check-in and the license flagged.", r.lic, ended, r.dev, names)); err != nil {
					return err
				}
				if err := l.event(tx, "migration-reminder", r.custID, r.lic[:], r.dev[:], "migration grace ended "+ended+"; unseen: "+names); err != nil {
					return err
				}
				out = append(out, SweepAction{License: r.lic, Action: "reminded", Detail: "migration grace ended " + ended + "; unseen, not decommissioned: " + names})
				continue
			}
			deadline := now + r.notice
			dl := time.Unix(deadline, 0).UTC().Format(time.DateOnly)
			if _, err := tx.Exec(`UPDATE licenses SET flagged_at = ?, flag_deadline = ? WHERE id = ?`, now, deadline, r.lic[:]); err != nil {
				return err
			}
			proof := ev.String()
			if r.reminded {
				proof = "After the reminder, every machine named in it checked in again. " + proof
			}
			if proof != "" {
				proof = " " + proof
			}
			if err := l.note(tx, r.custID, r.lic, "migration-overdue", r.contact, "Action needed: two machines use one seat",
				fmt.Sprintf("The server migration grace of license %s ended on %s and both the old machine and the new machine %s are still active.%s Decommission the machine you retired by %s; otherwise the license will be disabled.", r.lic, ended, r.dev, proof, dl)); err != nil {
				return err
			}
			if err := l.note(tx, r.custID, r.lic, "fraud-flag", l.FraudContact, "License flagged: migration grace exceeded",
				fmt.Sprintf("License %s: migration grace ended %s with both machines active (new device %s).%s The customer has until %s. A follow-up phone call is recorded as a task.", r.lic, ended, r.dev, proof, dl)); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO tasks (at, license_id, kind, assignee, detail) VALUES (?, ?, 'phone-call', ?, ?)`,
				now, r.lic[:], l.FraudContact, fmt.Sprintf("call the customer about license %s: migration grace exceeded, deadline %s", r.lic, dl)); err != nil {
				return err
			}
			if err := l.event(tx, "fraud-flagged", r.custID, r.lic[:], r.dev[:], "migration grace ended "+ended+", deadline "+dl+proof); err != nil {
				return err
			}
			out = append(out, SweepAction{License: r.lic, Action: "flagged", Detail: "migration grace ended " + ended + "; deadline " + dl + proof})
		}
		due, err := scan(`SELECT l.id, NULL, c.id, c.contact, l.flag_deadline, l.fraud_notice FROM licenses l JOIN customers c ON c.id = l.customer_id
			WHERE l.flagged_at IS NOT NULL AND l.disabled_at IS NULL AND l.flag_deadline <= ? ORDER BY l.id`, now)
		if err != nil {
			return err
		}
		for _, r := range due {
			if _, err := tx.Exec(`UPDATE licenses SET disabled_at = ? WHERE id = ?`, now, r.lic[:]); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO revocations (kind, id, reason, at, active) VALUES ('license', ?, ?, ?, 1)
				ON CONFLICT (kind, id) DO UPDATE SET reason = excluded.reason, at = excluded.at, active = 1`, r.lic[:], int(license.ReasonAbuse), now); err != nil {
				return err
			}
			msg := fmt.Sprintf("License %s was disabled: the migration was not resolved by %s. It is revoked and the next revocation list stops it on every machine.", r.lic, time.Unix(r.at, 0).UTC().Format(time.DateOnly))
			for _, n := range []struct{ kind, to string }{{"license-disabled", r.contact}, {"license-disabled", l.FraudContact}} {
				if err := l.note(tx, r.custID, r.lic, n.kind, n.to, "License disabled", msg); err != nil {
					return err
				}
			}
			if err := l.event(tx, "license-disabled", r.custID, r.lic[:], nil, "fraud flag not resolved"); err != nil {
				return err
			}
			out = append(out, SweepAction{License: r.lic, Action: "disabled", Detail: "flag not resolved by the deadline; revoked (abuse)"})
		}
		return nil
	})
	return out, err
}
