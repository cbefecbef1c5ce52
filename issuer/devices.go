package issuer

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
)

// persist records what the decision did: the device (new, recommissioned
// or the same), its fingerprint revision and digests, its bill, and the
// earlier activations it supersedes.
func (l *Ledger) persist(tx *sql.Tx, p *pending, dec seatDecision) (*Result, error) {
	now := l.now().Unix()
	res := &Result{Outcome: p.outcome, Label: p.req.Label, License: p.lic.ID, Customer: p.lic.Customer, Overage: dec.Overage, Failover: dec.Failover}
	billed := 0
	if dec.Overage {
		billed = 1
	}
	var until any // migration_until: NULL unless a server migration begins
	if dec.Migration {
		u := l.now().Add(p.acct.seats.MigrationGrace).UTC()
		res.MigrationUntil, until = u, u.Unix()
	}
	switch p.outcome {
	case SameDevice:
		res.Device, res.Overage, res.Failover = p.dev.id, p.dev.overage, p.dev.failover
		res.MigrationUntil = p.dev.migrationUntil
		if _, err := tx.Exec(`UPDATE devices SET label = ?, fingerprint = ?, last_activated = ? WHERE id = ?`, p.req.Label, p.fp, now, res.Device[:]); err != nil {
			return nil, err
		}
	case Recommissioned:
		res.Device = p.dev.id
		if _, err := tx.Exec(`UPDATE devices SET status = 'recommissioned', label = ?, fingerprint = ?, last_activated = ?, overage = ?, failover = ?,
			recommissions = recommissions + 1, billed_overage = billed_overage + ?, billed_overage_at = CASE WHEN ? = 1 THEN ? ELSE billed_overage_at END,
			migration_until = ? WHERE id = ?`,
			p.req.Label, p.fp, now, res.Overage, res.Failover, billed, billed, now, until, res.Device[:]); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(`UPDATE customers SET recommissions = recommissions + 1 WHERE id = ?`, p.acct.custID); err != nil {
			return nil, err
		}
	case NewDevice:
		res.Device = activation.NewDeviceID()
		var billedAt any
		if dec.Overage {
			billedAt = now
		}
		if _, err := tx.Exec(`INSERT INTO devices (id, license_id, label, status, failover, overage, fingerprint, first_activated, last_activated, billed_overage, billed_overage_at, migration_until)
			VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?)`,
			res.Device[:], p.lic.ID[:], p.req.Label, res.Failover, res.Overage, p.fp, now, now, billed, billedAt, until); err != nil {
			return nil, err
		}
	}
	if dec.Migration {
		if _, err := tx.Exec(`INSERT INTO migration_starts (license_id, device_id, started_at) VALUES (?, ?, ?)`, p.lic.ID[:], res.Device[:], now); err != nil {
			return nil, err
		}
	}
	if p.dev == nil || !bytes.Equal(p.fp, mustMarshal(p.dev.fp)) {
		if _, err := tx.Exec(`INSERT INTO device_fingerprints (device_id, at, fingerprint) VALUES (?, ?, ?)`, res.Device[:], now, p.fp); err != nil {
			return nil, err
		}
	}
	if err := indexDigests(tx, p.lic.ID, res.Device, p.enrolled); err != nil {
		return nil, err
	}
	if p.cred != nil {
		if _, err := tx.Exec(`UPDATE devices SET attested = 1 WHERE id = ?`, res.Device[:]); err != nil {
			return nil, err
		}
	}
	if err := l.revokeLiveActivations(tx, res.Device); err != nil {
		return nil, err
	}
	if dec.TakesSeat && !dec.Failover {
		n := usageNote{acct: p.acct, lic: p.lic, used: p.acct.seats.Used + 1, overage: dec.Overage, dev: res.Device, label: p.req.Label}
		if err := l.notifyUsage(tx, n); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func mustMarshal(fp *fingerprint.Fingerprint) []byte {
	b, _ := fp.MarshalBinary()
	return b
}

// indexDigests makes the device findable by every identity digest it has
// now; digests of earlier revisions stay (the index only grows).
func indexDigests(tx *sql.Tx, lic license.ID, dev activation.DeviceID, fp *fingerprint.Fingerprint) error {
	var q strings.Builder
	var args []any
	for _, c := range fingerprint.Components() {
		if c.Class() != fingerprint.Identity {
			continue
		}
		for _, d := range fp.Components[c] {
			if args == nil {
				q.WriteString(`INSERT INTO device_digests (license_id, digest, device_id) VALUES (?, ?, ?)`)
			} else {
				q.WriteString(`, (?, ?, ?)`)
			}
			args = append(args, lic[:], d[:], dev[:])
		}
	}
	if args == nil {
		return nil
	}
	// One statement for all of them: one round trip to the database.
	q.WriteString(` ON CONFLICT DO NOTHING`)
	_, err := tx.Exec(q.String(), args...)
	return err
}

// revokeLiveActivations revokes, as superseded, every activation of the
// device that is not revoked yet: it goes into the next revocation list.
func (l *Ledger) revokeLiveActivations(tx *sql.Tx, dev activation.DeviceID) error {
	_, err := tx.Exec(`INSERT INTO revocations (kind, id, reason, at, active)
		SELECT 'activation', a.id, ?, ?, 1 FROM activations a WHERE a.device_id = ?
		AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.kind = 'activation' AND r.id = a.id AND r.active = 1)
		ON CONFLICT (kind, id) DO UPDATE SET reason = excluded.reason, at = excluded.at, active = 1`,
		int(license.ReasonSuperseded), l.now().Unix(), dev[:])
	return err
}

// Decommission frees the device's seat and revokes its activations (as
// superseded), so that the next revocation list stops the machine. An
// overage bill stays. The customer's contact gets a confirmation, recorded
// as a notification (kind decommission-confirmation) as the licensing terms
// promise.
func (l *Ledger) Decommission(dev activation.DeviceID) error {
	return l.tx(func(tx *sql.Tx) error {
		var status, label, product string
		var kind int
		var custID int64
		var lic []byte
		var upgrades sql.NullInt64
		var failover bool
		err := tx.QueryRow(`SELECT d.status, d.label, d.failover, l.kind, l.customer_id, l.id, l.product, l.upgrades_until FROM devices d JOIN licenses l ON l.id = d.license_id WHERE d.id = ?`, dev[:]).
			Scan(&status, &label, &failover, &kind, &custID, &lic, &product, &upgrades)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrUnknownDevice, dev)
		} else if err != nil {
			return err
		}
		switch {
		case license.Kind(kind) == license.PerDeployment:
			return fmt.Errorf("%w (%s)", ErrPerDeployment, dev)
		case license.Kind(kind) == license.Perpetual && upgrades.Valid && upgrades.Int64 < l.now().Unix():
			return fmt.Errorf("%w: support ended %s", ErrNoSupport, time.Unix(upgrades.Int64, 0).UTC().Format(time.DateOnly))
		case status == "decommissioned":
			return fmt.Errorf("%w: %s is already decommissioned", ErrNotActive, dev)
		}
		var contact string
		if err := tx.QueryRow(`SELECT contact FROM customers WHERE id = ?`, custID).Scan(&contact); err != nil {
			return err
		}
		var id license.ID
		copy(id[:], lic)
		// Before the status changes, so that the migration in progress is
		// still found (and the device itself, if it is the one migrating).
		if err := l.endMigration(tx, custID, contact, id, dev, !failover); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE devices SET status = 'decommissioned', overage = 0, migration_until = NULL WHERE id = ?`, dev[:]); err != nil {
			return err
		}
		if err := l.revokeLiveActivations(tx, dev); err != nil {
			return err
		}
		if err := l.rearmNotifications(tx, id); err != nil {
			return err
		}
		if err := l.event(tx, "decommissioned", custID, lic, dev[:], ""); err != nil {
			return err
		}
		used, _, err := usage(tx, id)
		if err != nil {
			return err
		}
		var seats int
		if err := tx.QueryRow(`SELECT seats FROM licenses WHERE id = ?`, lic).Scan(&seats); err != nil {
			return err
		}
		if err := l.note(tx, custID, id, "decommission-confirmation", contact, fmt.Sprintf("%s: machine %q decommissioned", product, label),
			fmt.Sprintf("Machine %q (%s) was decommissioned on license %s at %s. Its seat is free: the license uses %d of %d seats. "+
				"The machine stops working with the next revocation list; activating it again takes a seat again and counts as a recommission.",
				label, dev, id, l.now().Format(time.RFC3339), used, seats)); err != nil {
			return err
		}
		return nil
	})
}

// Unsuspend lets a suspended customer activate again and resets its count.
func (l *Ledger) Unsuspend(customer string) error {
	return l.tx(func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRow(`SELECT id FROM customers WHERE name = ?`, customer).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %q", ErrUnknownCustomer, customer)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE customers SET suspended = 0, recommissions = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		return l.event(tx, "unsuspended", id, nil, nil, "")
	})
}
