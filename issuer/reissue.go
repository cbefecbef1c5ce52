package issuer

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
)

// Re-issuing: a renewal or an edition upgrade signs the same license ID again
// with a higher revision; the ledger keeps every revision, the newest is the
// license, and an activation request carrying an older revision is refused.
// A transfer issues a new license to the new customer, only with a recorded
// written-consent reference, and revokes the old one.

// Re-issue refusals.
var (
	ErrSuperseded = errors.New("this revision of the license was superseded")
	ErrNoConsent  = errors.New("a transfer needs the reference of the customer's written consent")
	ErrRenewal    = errors.New("not a renewal")
)

const reissueMigration = `ALTER TABLE licenses ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE license_revisions (
		license_id BLOB NOT NULL REFERENCES licenses(id),
		revision INTEGER NOT NULL,
		token BLOB NOT NULL,
		kid BLOB NOT NULL,
		superseded_at INTEGER NOT NULL,
		PRIMARY KEY (license_id, revision)
	);
	CREATE TABLE transfers (
		id INTEGER PRIMARY KEY,
		at INTEGER NOT NULL,
		actor TEXT NOT NULL,
		from_license BLOB NOT NULL,
		to_license BLOB NOT NULL,
		from_customer TEXT NOT NULL,
		to_customer TEXT NOT NULL,
		consent TEXT NOT NULL
	);
	CREATE TABLE charges (
		id INTEGER PRIMARY KEY,
		at INTEGER NOT NULL,
		license_id BLOB NOT NULL,
		kind TEXT NOT NULL,
		currency TEXT NOT NULL,
		amount_cents INTEGER NOT NULL,
		detail TEXT NOT NULL
	);`

// Reissued is a license signed again.
type Reissued struct {
	Token  []byte
	Claims license.Claims
	Quote  *Quote `json:",omitempty"` // what an upgrade costs
}

// current loads the license's newest revision.
func current(tx *sql.Tx, id license.ID) (license.Claims, int64, error) {
	var tok []byte
	var cust int64
	err := tx.QueryRow(`SELECT token, customer_id FROM licenses WHERE id = ?`, id[:]).Scan(&tok, &cust)
	if errors.Is(err, sql.ErrNoRows) {
		return license.Claims{}, 0, fmt.Errorf("%w: %s", ErrUnknownLicense, id)
	} else if err != nil {
		return license.Claims{}, 0, err
	}
	t, err := license.Inspect(tok)
	if err != nil {
		return license.Claims{}, 0, fmt.Errorf("ledger: stored license %s: %w", id, err)
	}
	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM revocations WHERE kind = 'license' AND id = ? AND active = 1`, id[:]).Scan(&n); err != nil {
		return license.Claims{}, 0, err
	}
	if n > 0 {
		return license.Claims{}, 0, fmt.Errorf("%w: %s (unrevoke it first)", ErrLicenseRevoked, id)
	}
	return t.Claims, cust, nil
}

// reissue signs change(claims of the newest revision) as the next revision.
func (l *Ledger) reissue(tx *sql.Tx, key *Key, id license.ID, kind string, change func(*license.Claims) (string, error)) (*Reissued, error) {
	if err := checkSigningKey(tx, key.ID(), l.now()); err != nil {
		return nil, err
	}
	old, cust, err := current(tx, id)
	if err != nil {
		return nil, err
	}
	c := old
	detail, err := change(&c)
	if err != nil {
		return nil, err
	}
	now := l.now()
	c.Revision = old.Revision + 1
	c.NotBefore = old.NotBefore // validity still starts where it did
	c.IssuedAt = now
	tok, err := key.Mint(c)
	if err != nil {
		return nil, err
	}
	if err := recordKey(tx, key.Public(), now); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`INSERT INTO license_revisions (license_id, revision, token, kid, superseded_at)
		SELECT id, revision, token, kid, ? FROM licenses WHERE id = ?`, now.Unix(), id[:]); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE licenses SET edition = ?, seats = ?, failover = ?, expires = ?, upgrades_until = ?, token = ?, kid = ?, revision = ? WHERE id = ?`,
		c.Edition, c.Seats, c.Failover, nullTime(c.Expires), nullTime(c.UpgradesUntil), tok, kidBytes(key), c.Revision, id[:]); err != nil {
		return nil, err
	}
	return &Reissued{Token: tok, Claims: c}, l.event(tx, kind, cust, id[:], nil, fmt.Sprintf("revision %d: %s", c.Revision, detail))
}

// Renew re-issues the license with a later expiry and/or a later end of
// upgrade protection. Devices keep their activations.
func (l *Ledger) Renew(key *Key, id license.ID, expires, upgradesUntil time.Time) (*Reissued, error) {
	var out *Reissued
	err := l.tx(func(tx *sql.Tx) (err error) {
		out, err = l.reissue(tx, key, id, "renewed", func(c *license.Claims) (string, error) {
			var what []string
			if expires.IsZero() && upgradesUntil.IsZero() {
				return "", fmt.Errorf("%w: give a new expiry or a new end of upgrade protection", ErrRenewal)
			}
			if !expires.IsZero() {
				if c.Kind == license.Perpetual {
					return "", fmt.Errorf("%w: a perpetual license does not expire; renew its upgrade protection", ErrRenewal)
				}
				if !c.Expires.IsZero() && !expires.After(c.Expires) {
					return "", fmt.Errorf("%w: %s is not after the current expiry %s", ErrRenewal, expires.Format(time.DateOnly), c.Expires.Format(time.DateOnly))
				}
				if c.UpgradesUntil.Equal(c.Expires) && upgradesUntil.IsZero() {
					c.UpgradesUntil = expires // a subscription's protection follows its term
				}
				c.Expires = expires.UTC()
				what = append(what, "expires "+expires.UTC().Format(time.RFC3339))
			}
			if !upgradesUntil.IsZero() {
				if !c.UpgradesUntil.IsZero() && !upgradesUntil.After(c.UpgradesUntil) {
					return "", fmt.Errorf("%w: %s is not after the current end of upgrade protection %s", ErrRenewal, upgradesUntil.Format(time.DateOnly), c.UpgradesUntil.Format(time.DateOnly))
				}
				c.UpgradesUntil = upgradesUntil.UTC()
				what = append(what, "upgrades until "+upgradesUntil.UTC().Format(time.RFC3339))
			}
			return strings.Join(what, ", "), nil
		})
		return err
	})
	return out, err
}

// Upgrade re-issues the license at a higher edition (and optionally more
// seats) within its major, priced by prices: the difference per seat plus
// the new price per added seat. The amount is recorded as a charge.
func (l *Ledger) Upgrade(key *Key, id license.ID, prices *PriceList, edition string, seats int) (*Reissued, error) {
	var out *Reissued
	var q *Quote
	err := l.tx(func(tx *sql.Tx) (err error) {
		out, err = l.reissue(tx, key, id, "upgraded", func(c *license.Claims) (string, error) {
			if seats == 0 {
				seats = c.Seats
			}
			if edition == "" {
				edition = c.Edition
			}
			if q, err = prices.QuoteUpgrade(c.Product, c.Major, c.Edition, edition, c.Seats, seats); err != nil {
				return "", err
			}
			c.Edition, c.Seats = edition, seats
			return fmt.Sprintf("%s to %s, %d to %d seats: %s %s due", q.FromEdition, q.ToEdition, q.Seats, seats, q.Amount, q.Currency), nil
		})
		if err != nil {
			return err
		}
		out.Quote = q
		_, err = tx.Exec(`INSERT INTO charges (at, license_id, kind, currency, amount_cents, detail) VALUES (?, ?, 'upgrade', ?, ?, ?)`,
			l.now().Unix(), id[:], q.Currency, int64(q.Amount), fmt.Sprintf("%s to %s, %d added seats", q.FromEdition, q.ToEdition, q.AddedSeats))
		return err
	})
	return out, err
}

// storedPolicy reads back the policy a license was recorded with (but the
// contact, which is the customer's).
func storedPolicy(tx *sql.Tx, id license.ID) (LicensePolicy, error) {
	var pol LicensePolicy
	var match []byte
	var grace, notice, lease int64
	err := tx.QueryRow(`SELECT overage_allowed, overage_price_cents, policy, migration_grace, fraud_notice, lease, migrations_per_year FROM licenses WHERE id = ?`, id[:]).
		Scan(&pol.OverageAllowed, &pol.OveragePriceCents, &match, &grace, &notice, &lease, &pol.MigrationsPerYear)
	if err != nil {
		return pol, err
	}
	if match != nil {
		m, err := fingerprint.ParsePolicy(match)
		if err != nil {
			return pol, fmt.Errorf("ledger: policy of %s: %w", id, err)
		}
		pol.Match = m
	}
	pol.MigrationGrace = time.Duration(grace) * time.Second
	if grace == 0 {
		pol.MigrationGrace = -1 // stored 0: no migrations
	}
	pol.FraudNotice = time.Duration(notice) * time.Second
	pol.Lease = time.Duration(lease) * time.Second
	return pol, nil
}

// Transfer issues the license's terms under a new license ID to another
// customer, only with consent (a reference to the written consent, recorded
// with who and when); the old license is revoked (superseded) so the old
// customer's copies stop working, and its devices are decommissioned.
func (l *Ledger) Transfer(key *Key, id license.ID, to, consent string) (*Reissued, error) {
	consent = strings.TrimSpace(consent)
	if consent == "" {
		return nil, ErrNoConsent
	}
	if len(consent) > 256 || len(to) > license.MaxTextLen || strings.TrimSpace(to) == "" {
		return nil, fmt.Errorf("%w: customer name and consent reference are 1 to 256 bytes", license.ErrInvalidClaims)
	}
	var out *Reissued
	err := l.tx(func(tx *sql.Tx) error {
		if err := checkSigningKey(tx, key.ID(), l.now()); err != nil {
			return err
		}
		old, oldCust, err := current(tx, id)
		if err != nil {
			return err
		}
		if old.Customer == to {
			return fmt.Errorf("%w: %s already belongs to %q", license.ErrInvalidClaims, id, to)
		}
		now := l.now()
		c := old
		c.ID, c.Customer, c.Revision, c.IssuedAt = license.NewID(), to, 0, now
		tok, err := key.Mint(c)
		if err != nil {
			return err
		}
		if err := recordKey(tx, key.Public(), now); err != nil {
			return err
		}
		pol, err := storedPolicy(tx, id) // the same terms: overage, matching, migrations, lease
		if err != nil {
			return err
		}
		v, err := l.verifyLicense(tx, key, tok)
		if err != nil {
			return err
		}
		newCust, _, err := l.recordLicense(tx, v, tok, &pol)
		if err != nil {
			return err
		}
		// The migrations the license started go with it: a transfer does
		// not reset the yearly cap.
		if _, err := tx.Exec(`INSERT INTO migration_starts (license_id, device_id, started_at) SELECT ?, device_id, started_at FROM migration_starts WHERE license_id = ?`,
			v.ID[:], id[:]); err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO revocations (kind, id, reason, at, active) VALUES ('license', ?, ?, ?, 1)
			ON CONFLICT (kind, id) DO UPDATE SET reason = excluded.reason, at = excluded.at, active = 1`, id[:], int(license.ReasonSuperseded), now.Unix()); err != nil {
			return err
		}
		rows, err := tx.Query(`SELECT id FROM devices WHERE license_id = ? AND status <> 'decommissioned'`, id[:])
		if err != nil {
			return err
		}
		var devs []activation.DeviceID
		for rows.Next() {
			var d activation.DeviceID
			var b []byte
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return err
			}
			copy(d[:], b)
			devs = append(devs, d)
		}
		rows.Close()
		for _, d := range devs {
			if _, err := tx.Exec(`UPDATE devices SET status = 'decommissioned', overage = 0, migration_until = NULL WHERE id = ?`, d[:]); err != nil {
				return err
			}
			if err := l.revokeLiveActivations(tx, d); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`INSERT INTO transfers (at, actor, from_license, to_license, from_customer, to_customer, consent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			now.Unix(), l.Actor, id[:], c.ID[:], old.Customer, to, consent); err != nil {
			return err
		}
		detail := fmt.Sprintf("%s (%s) to %s (%s), consent %q", id, old.Customer, c.ID, to, consent)
		if err := l.event(tx, "transferred-out", oldCust, id[:], nil, detail); err != nil {
			return err
		}
		out = &Reissued{Token: tok, Claims: c}
		return l.event(tx, "transferred-in", newCust, c.ID[:], nil, detail)
	})
	return out, err
}

// checkRevision refuses a request carrying an older revision of a license
// than the ledger's newest.
func checkRevision(tx *sql.Tx, c *license.Claims) error {
	var rev int
	if err := tx.QueryRow(`SELECT revision FROM licenses WHERE id = ?`, c.ID[:]).Scan(&rev); err != nil {
		return err
	}
	if c.Revision < rev {
		return fmt.Errorf("%w: %w: the request carries revision %d of %s, the current is %d: use the re-issued license", ErrRequestRefused, ErrSuperseded, c.Revision, c.ID, rev)
	}
	return nil
}

func kidBytes(k *Key) []byte { id := k.ID(); return id[:] }
