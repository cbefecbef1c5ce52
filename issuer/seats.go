package issuer

import (
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// seatState is what the seat decision depends on: the license's terms and
// its usage before this request.
type seatState struct {
	Kind           license.Kind
	Seats          int
	Failover       int // failover installations allowed
	OverageAllowed bool
	Used           int // seats taken (SPEC 10.4 rule 5)
	FailoversUsed  int
	// MigrationGrace is the license's server-migration grace (0: none);
	// Migrating is the device in migration now, if any (SPEC 10.4 rule 11).
	MigrationGrace time.Duration
	Migrating      *activation.DeviceID
	MigrationUntil time.Time
	// MigrationCap is how many migrations the license may start in 365
	// days (-1: no cap); MigrationsStarted how many it did, the oldest at
	// OldestMigration.
	MigrationCap      int
	MigrationsStarted int
	OldestMigration   time.Time
}

// seatDecision is what a request does to the seats.
type seatDecision struct {
	TakesSeat bool // a seat, a deployment or a failover slot
	Overage   bool // beyond the seats: billed
	Failover  bool // a failover installation
	Migration bool // a server migration: active until the grace ends
}

// decideSeat is SPEC 10.4 rule 5 as a pure function. A known device in use
// takes nothing (it keeps what it had); a new or recommissioned device takes
// a failover slot if it asks for one, else a seat, else an overage seat if
// the license allows it.
func decideSeat(s seatState, o Outcome, failover bool) (seatDecision, error) {
	switch o {
	case NewDevice, Recommissioned:
	default:
		return seatDecision{}, nil
	}
	switch {
	case failover && s.FailoversUsed >= s.Failover:
		return seatDecision{}, fmt.Errorf("%w: %d of %d", ErrFailoverExhausted, s.FailoversUsed, s.Failover)
	case failover:
		return seatDecision{TakesSeat: true, Failover: true}, nil
	case s.Used < s.Seats:
		return seatDecision{TakesSeat: true}, nil
	case !s.OverageAllowed && s.Kind != license.PerDeployment && s.MigrationGrace > 0 && s.Migrating == nil &&
		s.MigrationCap >= 0 && s.MigrationsStarted >= s.MigrationCap:
		return seatDecision{}, fmt.Errorf("%w: %d of %d seats used, and the license's %d server migrations in 365 days are used (the oldest began %s): decommission the machine it replaces first",
			ErrSeatsExhausted, s.Used, s.Seats, s.MigrationCap, s.OldestMigration.Format(time.DateOnly))
	case !s.OverageAllowed && s.Kind != license.PerDeployment && s.MigrationGrace > 0 && s.Migrating == nil:
		return seatDecision{TakesSeat: true, Migration: true}, nil
	case !s.OverageAllowed && s.Migrating != nil:
		return seatDecision{}, fmt.Errorf("%w: %d of %d seats used, and device %s is already migrating until %s: decommission the machine it replaces first",
			ErrSeatsExhausted, s.Used, s.Seats, s.Migrating, s.MigrationUntil.Format(time.DateOnly))
	case !s.OverageAllowed:
		what := "seats"
		if s.Kind == license.PerDeployment {
			what = "deployments (each is used for good)"
		}
		return seatDecision{}, fmt.Errorf("%w: %d of %d %s used", ErrSeatsExhausted, s.Used, s.Seats, what)
	default:
		return seatDecision{TakesSeat: true, Overage: true}, nil
	}
}

// seatsSQL and failoversSQL count, over devices d of licenses l, the seats
// taken (devices in use that are not failover installations; for
// per-deployment licenses every device ever activated) and the failover
// installations in use. Activation and reports share them.
var (
	seatsSQL = `COALESCE(SUM(CASE WHEN d.id IS NOT NULL AND d.failover = 0 AND (d.status <> 'decommissioned' OR l.kind = ` +
		strconv.Itoa(int(license.PerDeployment)) + `) AND d.migration_until IS NULL THEN 1 ELSE 0 END), 0)`
	failoversSQL = `COALESCE(SUM(CASE WHEN d.id IS NOT NULL AND d.failover = 1 AND d.status <> 'decommissioned' THEN 1 ELSE 0 END), 0)`
	// billedSQL counts overage bills: once for each time a device took a
	// seat beyond the license's seats; nothing undoes one.
	billedSQL = `COALESCE(SUM(d.billed_overage), 0)`
)

// seatIndexMigration: every activation counts its license's seats (usage)
// and looks for a migration in progress (migration); without it both read
// every device row of the license. The index covers usage's columns, so the
// count reads the index alone, and the migration lookup is a seek to the
// license's devices with a migration_until.
const seatIndexMigration = `CREATE INDEX devices_seats ON devices(license_id, migration_until, status, failover, id);`

// usage counts the license's seats taken and failover installations in use.
func usage(tx *sql.Tx, lic license.ID) (seats, failovers int, err error) {
	err = tx.QueryRow(`SELECT `+seatsSQL+`, `+failoversSQL+` FROM licenses l LEFT JOIN devices d ON d.license_id = l.id WHERE l.id = ?`, lic[:]).
		Scan(&seats, &failovers)
	return
}

// usageNote is one seat taken, as the customer's contact hears of it.
type usageNote struct {
	acct    *account
	lic     *verifier.License
	used    int // seats taken, this one included
	overage bool
	dev     activation.DeviceID
	label   string
}

// notifyUsage records the notification a seat taken calls for, if any: an
// overage device, usage reaching the threshold, or all seats in use.
func (l *Ledger) notifyUsage(tx *sql.Tx, n usageNote) error {
	lic, a := n.lic, n.acct
	note := func(kind, subject, body string) error {
		return l.note(tx, a.custID, lic.ID, kind, a.contact, subject, body)
	}
	switch {
	case n.overage:
		return note("overage", fmt.Sprintf("%s: device over the seat limit", lic.Product),
			fmt.Sprintf("License %s (%s, %d seats) now has %d devices. Device %q (%s) is an overage device and is billed at %s.",
				lic.ID, lic.Product, lic.Seats, n.used, n.label, n.dev, money(a.priceCents)))
	case !a.notifiedThreshold && n.used*100 >= l.NotifyAt*lic.Seats && n.used < lic.Seats:
		if _, err := tx.Exec(`UPDATE licenses SET notified_threshold = 1 WHERE id = ?`, lic.ID[:]); err != nil {
			return err
		}
		return note("usage-threshold", fmt.Sprintf("%s: %d of %d seats in use", lic.Product, n.used, lic.Seats),
			fmt.Sprintf("License %s uses %d of its %d seats (%d%%).", lic.ID, n.used, lic.Seats, n.used*100/lic.Seats))
	case !a.notifiedFull && n.used >= lic.Seats:
		if _, err := tx.Exec(`UPDATE licenses SET notified_full = 1, notified_threshold = 1 WHERE id = ?`, lic.ID[:]); err != nil {
			return err
		}
		return note("usage-full", fmt.Sprintf("%s: all %d seats in use", lic.Product, lic.Seats),
			fmt.Sprintf("License %s uses all of its %d seats.", lic.ID, lic.Seats))
	}
	return nil
}

// rearmNotifications lets the usage notifications fire again once usage
// falls below their level.
func (l *Ledger) rearmNotifications(tx *sql.Tx, lic license.ID) error {
	used, _, err := usage(tx, lic)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`UPDATE licenses SET notified_threshold = CASE WHEN ? * 100 < ? * seats THEN 0 ELSE notified_threshold END,
		notified_full = CASE WHEN ? < seats THEN 0 ELSE notified_full END WHERE id = ?`, used, l.NotifyAt, used, lic[:])
	return err
}

// appendMoney appends cents as a decimal amount ("49.99"); money adds the
// currency. The only two ways the ledger writes an amount.
func appendMoney(dst []byte, cents int64) []byte {
	if cents < 0 {
		dst = append(dst, '-')
		cents = -cents
	}
	dst = strconv.AppendInt(dst, cents/100, 10)
	dst = append(dst, '.')
	if cents%100 < 10 {
		dst = append(dst, '0')
	}
	return strconv.AppendInt(dst, cents%100, 10)
}

func money(cents int64) string { return string(appendMoney(nil, cents)) + " USD" }
