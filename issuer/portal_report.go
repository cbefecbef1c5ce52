package issuer

import (
	"database/sql"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/license"
)

// PortalLicense is one license's terms and account, as the portal shows it.
type PortalLicense struct {
	Summary
	Contact        string
	Edition        string
	Kind           license.Kind
	Failover       int // failover installations allowed
	FailoversUsed  int
	Expires        time.Time // zero: never
	UpgradesUntil  time.Time // zero: none recorded
	OverageAllowed bool
	PriceCents     int64 // per overage device
}

// Reallocatable says whether the license's devices may be decommissioned
// now (the same rule Decommission applies): nil, ErrPerDeployment or ErrNoSupport.
func (p *PortalLicense) Reallocatable(now time.Time) error {
	switch {
	case p.Kind == license.PerDeployment:
		return ErrPerDeployment
	case p.Kind == license.Perpetual && !p.UpgradesUntil.IsZero() && p.UpgradesUntil.Before(now):
		return ErrNoSupport
	}
	return nil
}

// PortalLicenses returns the licenses the filter selects with their terms
// and usage, ordered by customer and license.
func (l *Ledger) PortalLicenses(f Filter) ([]PortalLicense, error) {
	w, args := f.where()
	rows, err := l.db.Query(`SELECT l.id, c.name, c.contact, c.suspended, l.product, l.edition, l.kind, l.seats, l.failover, l.expires, l.upgrades_until,
		l.overage_allowed, l.overage_price_cents, `+seatsSQL+`, `+failoversSQL+`, `+billedSQL+`, `+billedSQL+` * l.overage_price_cents
		FROM licenses l JOIN customers c ON c.id = l.customer_id LEFT JOIN devices d ON d.license_id = l.id`+w+` GROUP BY l.id, c.id ORDER BY c.name, l.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PortalLicense
	for rows.Next() {
		var p PortalLicense
		var id []byte
		var kind int
		var exp, upg sql.NullInt64
		if err := rows.Scan(&id, &p.Customer, &p.Contact, &p.Suspended, &p.Product, &p.Edition, &kind, &p.Seats, &p.Failover, &exp, &upg,
			&p.OverageAllowed, &p.PriceCents, &p.Used, &p.FailoversUsed, &p.Overage, &p.AmountCents); err != nil {
			return nil, err
		}
		copy(p.License[:], id)
		p.Kind = license.Kind(kind)
		if exp.Valid {
			p.Expires = time.Unix(exp.Int64, 0).UTC()
		}
		if upg.Valid {
			p.UpgradesUntil = time.Unix(upg.Int64, 0).UTC()
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// LastCheckIns returns when each device the filter selects last checked in
// with the licensing server (devices that never did are absent).
func (l *Ledger) LastCheckIns(f Filter) (seen map[activation.DeviceID]time.Time, err error) {
	w, args := f.where()
	rows, err := l.db.Query(`SELECT k.device_id, k.last_seen FROM device_checkins k JOIN devices d ON d.id = k.device_id
		JOIN licenses l ON l.id = d.license_id JOIN customers c ON c.id = l.customer_id`+w+` AND k.last_seen > 0`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seen = map[activation.DeviceID]time.Time{}
	for rows.Next() {
		var id []byte
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		var d activation.DeviceID
		copy(d[:], id)
		seen[d] = time.Unix(at, 0).UTC()
	}
	return seen, rows.Err()
}

// LicenseNotifications returns the notifications recorded for the customers
// of the licenses the filter selects, oldest first, by license. Notes meant
// for the vendor's operators (identity conflicts, which name other
// customers' devices) are left out.
func (l *Ledger) LicenseNotifications(f Filter) (map[license.ID][]Notification, error) {
	w, args := f.where()
	rows, err := l.db.Query(`SELECT n.license_id, n.id, n.at, n.kind, n.recipient, n.subject, n.body, n.delivered_at IS NOT NULL, n.attempts, n.last_error
		FROM notifications n JOIN licenses l ON l.id = n.license_id JOIN customers c ON c.id = l.customer_id`+w+` AND n.kind <> 'identity-conflict' ORDER BY n.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[license.ID][]Notification{}
	for rows.Next() {
		var n Notification
		var lic []byte
		var at int64
		if err := rows.Scan(&lic, &n.ID, &at, &n.Kind, &n.Recipient, &n.Subject, &n.Body, &n.Delivered, &n.Attempts, &n.LastError); err != nil {
			return nil, err
		}
		n.At = time.Unix(at, 0).UTC()
		var id license.ID
		copy(id[:], lic)
		out[id] = append(out[id], n)
	}
	return out, rows.Err()
}

// MarkDelivered marks the license's pending notifications of one kind as
// delivered now: for a caller that sent them itself, consolidated (the
// portal mails one confirmation for all the machines a customer
// decommissioned); if it could not, they stay pending for 'seatkey notify'.
func (l *Ledger) MarkDelivered(lic license.ID, kind string) error {
	_, err := l.db.Exec(`UPDATE notifications SET delivered_at = ?, attempts = attempts + 1 WHERE license_id = ? AND kind = ? AND delivered_at IS NULL`,
		l.now().Unix(), lic[:], kind)
	return err
}

// SuspendedCustomers lists suspended customers by name, with their recommission counts.
func (l *Ledger) SuspendedCustomers() (names []string, recommissions []int, err error) {
	rows, err := l.db.Query(`SELECT name, recommissions FROM customers WHERE suspended = 1 ORDER BY name`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var r int
		if err := rows.Scan(&n, &r); err != nil {
			return nil, nil, err
		}
		names, recommissions = append(names, n), append(recommissions, r)
	}
	return names, recommissions, rows.Err()
}

// Revocation is one revocation the ledger holds.
type Revocation struct {
	Kind   string // "license", "activation" or "key"
	ID     string // lic_..., act_... or key_...
	Reason license.Reason
	At     time.Time
}

// ActiveRevocations lists the revocations the next list will carry, newest first.
func (l *Ledger) ActiveRevocations() ([]Revocation, error) {
	rows, err := l.db.Query(`SELECT kind, id, reason, at FROM revocations WHERE active = 1 ORDER BY at DESC, kind, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	prefix := map[string]string{"license": "lic", "activation": "act", "key": "key"}
	var out []Revocation
	for rows.Next() {
		var r Revocation
		var id []byte
		var reason int
		var at int64
		if err := rows.Scan(&r.Kind, &id, &reason, &at); err != nil {
			return nil, err
		}
		r.ID, r.Reason, r.At = license.FormatID(prefix[r.Kind], id), license.Reason(reason), time.Unix(at, 0).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// PublishedList is the record of one published revocation list.
type PublishedList struct {
	Sequence                    uint64
	IssuedAt, NextUpdate        time.Time
	Key                         license.KeyID
	Licenses, Activations, Keys int
}

// PublishedRevocationLists lists the lists the ledger published, newest first.
func (l *Ledger) PublishedRevocationLists(limit int) ([]PublishedList, error) {
	rows, err := l.db.Query(`SELECT sequence, issued_at, next_update, kid, licenses, activations, keys FROM revocation_lists ORDER BY sequence DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PublishedList
	for rows.Next() {
		var p PublishedList
		var iat, next int64
		var kid []byte
		if err := rows.Scan(&p.Sequence, &iat, &next, &kid, &p.Licenses, &p.Activations, &p.Keys); err != nil {
			return nil, err
		}
		copy(p.Key[:], kid)
		p.IssuedAt, p.NextUpdate = time.Unix(iat, 0).UTC(), time.Unix(next, 0).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// Flag is an event the vendor's operators should look at: a refused
// activation whose hardware identity was shared ("flagged").
type Flag struct {
	At       time.Time
	Customer string
	License  license.ID
	Detail   string
}

// Flags lists flagged events, newest first, at most limit.
func (l *Ledger) Flags(limit int) ([]Flag, error) {
	rows, err := l.db.Query(`SELECT e.at, COALESCE(c.name, ''), e.license_id, e.detail FROM events e LEFT JOIN customers c ON c.id = e.customer_id
		WHERE e.kind = 'flagged' ORDER BY e.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Flag
	for rows.Next() {
		var f Flag
		var at int64
		var lic []byte
		if err := rows.Scan(&at, &f.Customer, &lic, &f.Detail); err != nil {
			return nil, err
		}
		f.At = time.Unix(at, 0).UTC()
		copy(f.License[:], lic)
		out = append(out, f)
	}
	return out, rows.Err()
}
