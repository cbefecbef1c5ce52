package issuer

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// Errors of the online device operations (check-in, return).
var (
	// ErrBadActivation wraps why a presented activation token was refused:
	// malformed, forged, expired, revoked, or another machine's.
	ErrBadActivation = errors.New("activation refused")
	// ErrNoRevocationList means no list was published through the ledger yet.
	ErrNoRevocationList = errors.New("no revocation list has been published")
)

// DefaultDuplicateWindow is how close together two check-ins from different
// machines must be for the device to be flagged as a suspected duplicate.
const DefaultDuplicateWindow = time.Hour

// CheckInResult is what a check-in recorded.
type CheckInResult struct {
	Device             activation.DeviceID `json:"device"`
	Activation         activation.ID       `json:"activation"`
	License            license.ID          `json:"license"`
	Status             string              `json:"status"`
	LastSeen           time.Time           `json:"last_seen"`
	CheckIns           int64               `json:"checkins"`
	SuspectedDuplicate bool                `json:"suspected_duplicate"`
	Match              fingerprint.Result  `json:"match"`
	// Token is the refreshed activation (binary form) when the license has
	// a lease: the same activation ID, signed again, expiring at Expires.
	// Absent without a lease.
	Token   []byte     `json:"token,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

// proof is an activation the ledger issued, presented with a fingerprint
// that matches it.
type proof struct {
	claims   *activation.Claims
	custID   int64
	status   string
	mismatch error // a *verifier.DeviceError: genuine activation, other machine
	match    fingerprint.Result
	tpmBound bool // the activation carries a credential the server cannot prove
}

// prove checks that token is an activation this ledger issued, signed by a
// trusted key, for a license that still verifies, not revoked, and that
// current (the machine's fresh fingerprint, scope = product) matches it. A
// genuine activation presented from a non-matching machine returns the proof
// with mismatch set, so the caller can record it.
func (l *Ledger) prove(tx *sql.Tx, key *Key, token []byte, current *fingerprint.Fingerprint) (*proof, error) {
	raw, err := license.Decode(license.TypeActivation, token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadActivation, err)
	}
	m, err := cose.Parse(raw, license.MaxTokenSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadActivation, err)
	}
	unverified, err := activation.ParseClaims(m.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadActivation, err)
	}
	var licTok []byte
	var product string
	var custID int64
	err = tx.QueryRow(`SELECT token, product, customer_id FROM licenses WHERE id = ?`, unverified.License[:]).Scan(&licTok, &product, &custID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownActivation
	} else if err != nil {
		return nil, err
	}
	if current.Scope != product {
		return nil, fmt.Errorf("%w: %w: the fingerprint was taken for %q, not for the license's product", ErrBadActivation, fingerprint.ErrScope, current.Scope)
	}
	kr, err := l.keyring(tx, key)
	if err != nil {
		return nil, err
	}
	p := &proof{custID: custID}
	act, err := verifier.VerifyActivation(licTok, token, current, verifier.Options{Keys: kr, Product: product, Now: l.now()})
	var de *verifier.DeviceError
	switch {
	case errors.As(err, &de):
		// Signature, license binding and expiry passed (they come first);
		// only the machine differs. Re-read the verified claims.
		if p.claims, err = activation.ParseClaims(m.Payload); err != nil {
			return nil, err
		}
		p.mismatch, p.match = fmt.Errorf("%w: %w", ErrBadActivation, de), de.Result
	case errors.Is(err, verifier.ErrTPMRequired):
		// A TPM-bound activation: every check but the TPM's own proof held
		// (it comes last), and the server cannot ask the device's TPM. A
		// check-in is recorded; a return needs the device's signed proof.
		if p.claims, err = activation.ParseClaims(m.Payload); err != nil {
			return nil, err
		}
		p.tpmBound = true
		p.match = fingerprint.Match(p.claims.Fingerprint, current, p.claims.EffectivePolicy())
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrBadActivation, err)
	default:
		p.claims, p.match = act.Activation, act.Match
	}
	c := p.claims
	var dev []byte
	err = tx.QueryRow(`SELECT a.device_id, d.status FROM activations a JOIN devices d ON d.id = a.device_id WHERE a.id = ? AND a.license_id = ?`, c.ID[:], c.License[:]).
		Scan(&dev, &p.status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownActivation
	} else if err != nil {
		return nil, err
	}
	if string(dev) != string(c.Device[:]) {
		return nil, ErrUnknownActivation
	}
	var revoked string
	var reason int
	err = tx.QueryRow(`SELECT kind, reason FROM revocations WHERE active = 1 AND ((kind = 'license' AND id = ?) OR (kind = 'activation' AND id = ?) OR (kind = 'key' AND id = ? AND (reason <> ? OR at < ?))) LIMIT 1`,
		c.License[:], c.ID[:], m.KID, int(license.ReasonRetired), c.IssuedAt.Unix()).Scan(&revoked, &reason)
	switch {
	case err == nil && revoked == "key" && license.Reason(reason) == license.ReasonRetired:
		return nil, fmt.Errorf("%w: %w: the activation was issued after its signing key was retired", ErrBadActivation, verifier.ErrKeyRetired)
	case err == nil:
		return nil, fmt.Errorf("%w: %w: the %s is revoked (%s)", ErrBadActivation, verifier.ErrRevoked, revoked, license.Reason(reason))
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	return p, nil
}

// CheckIn records that the device holding activationToken is running on the
// machine whose fresh fingerprint is current. The activation must verify
// (signature, license, expiry, revocation), be one this ledger issued, its
// device must be active, and current must match it under its policy.
//
// Suspected duplicates are flagged on the device and recorded as an event,
// never decided automatically: a genuine activation presented from a machine
// that does not match it (refused, with ErrBadActivation wrapping
// verifier.ErrDevice), or check-ins that go back to the previous of two
// different matching fingerprints within window (two machines sharing one
// activation take turns; a machine whose hardware changed does not go back).
// window zero means DefaultDuplicateWindow.
//
// For a license with a lease, the result carries the activation signed
// again (same ID, iat now, exp now + lease capped by the license's end and
// a migration's grace), unless it may not be extended (SPEC 10.4 rule 12):
// then the check-in is refused and nothing is recorded.
func (l *Ledger) CheckIn(key *Key, activationToken []byte, current *fingerprint.Fingerprint, window time.Duration) (*CheckInResult, error) {
	res, errs := l.CheckInBatch(key, []CheckInRequest{{activationToken, current}}, window)
	return res[0], errs[0]
}

// CheckInRequest is one check-in: an activation token (any text form) and
// the machine's fresh fingerprint.
type CheckInRequest struct {
	Activation  []byte
	Fingerprint *fingerprint.Fingerprint
}

// CheckInBatch records check-ins in order exactly as that many calls of
// CheckIn would, in one transaction (one disk sync); each runs in a
// savepoint, so a refused one changes nothing (but a suspected duplicate's
// flag) while the others stand. If the transaction cannot commit, every
// check-in gets that error. results[i] and errs[i] answer reqs[i].
func (l *Ledger) CheckInBatch(key *Key, reqs []CheckInRequest, window time.Duration) (results []*CheckInResult, errs []error) {
	if window <= 0 {
		window = DefaultDuplicateWindow
	}
	results, errs = make([]*CheckInResult, len(reqs)), make([]error, len(reqs))
	err := l.tx(func(tx *sql.Tx) error {
		for i, r := range reqs {
			if _, err := tx.Exec(`SAVEPOINT checkin`); err != nil {
				return err
			}
			res, refusal, err := l.checkIn(tx, key, r.Activation, r.Fingerprint, window)
			if err != nil {
				if _, rerr := tx.Exec(`ROLLBACK TO checkin`); rerr != nil {
					return rerr
				}
			}
			if _, rerr := tx.Exec(`RELEASE checkin`); rerr != nil {
				return rerr
			}
			switch {
			case err != nil:
				errs[i] = err
			case refusal != nil:
				errs[i] = refusal
			default:
				results[i] = res
			}
		}
		return nil
	})
	if err != nil {
		for i := range reqs {
			results[i], errs[i] = nil, err
		}
	}
	return results, errs
}

// checkIn is one check-in inside tx. A refusal that keeps a change (the
// suspected-duplicate flag) comes back as refusal; err undoes everything.
func (l *Ledger) checkIn(tx *sql.Tx, key *Key, activationToken []byte, current *fingerprint.Fingerprint, window time.Duration) (res *CheckInResult, refusal, err error) {
	if current == nil {
		return nil, nil, fmt.Errorf("%w: no fingerprint given", ErrBadActivation)
	}
	p, err := l.prove(tx, key, activationToken, current)
	if err != nil {
		return nil, nil, err
	}
	c := p.claims
	if p.mismatch != nil {
		return nil, p.mismatch, l.flagDuplicate(tx, p, "checked in from a machine that does not match the activation: "+p.match.Reason())
	}
	if p.status == "decommissioned" {
		return nil, nil, fmt.Errorf("%w: %s was decommissioned", ErrNotActive, c.Device)
	}
	fpb, err := current.Hardware().MarshalBinary()
	if err != nil {
		return nil, nil, err
	}
	h := sha256.Sum256(fpb)
	now := l.now().Unix()
	var cur, prev []byte
	var prevSeen sql.NullInt64
	var flagged bool
	err = tx.QueryRow(`SELECT fingerprint_hash, prev_fingerprint_hash, prev_seen, suspected_duplicate FROM device_checkins WHERE device_id = ?`, c.Device[:]).
		Scan(&cur, &prev, &prevSeen, &flagged)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.Exec(`INSERT INTO device_checkins (device_id, activation_id, last_seen, fingerprint_hash, checkins) VALUES (?, ?, ?, ?, 1)`,
			c.Device[:], c.ID[:], now, h[:])
	case err != nil:
	case string(cur) == string(h[:]):
		_, err = tx.Exec(`UPDATE device_checkins SET activation_id = ?, last_seen = ?, checkins = checkins + 1 WHERE device_id = ?`, c.ID[:], now, c.Device[:])
	default:
		back := string(prev) == string(h[:]) && prevSeen.Valid && now-prevSeen.Int64 <= int64(window/time.Second)
		_, err = tx.Exec(`UPDATE device_checkins SET activation_id = ?, prev_fingerprint_hash = fingerprint_hash, prev_seen = last_seen,
			fingerprint_hash = ?, last_seen = ?, checkins = checkins + 1 WHERE device_id = ?`, c.ID[:], h[:], now, c.Device[:])
		if err == nil && back {
			err = l.flagDuplicate(tx, p, fmt.Sprintf("check-ins alternate between two different machines within %s", window))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	res = &CheckInResult{Device: c.Device, Activation: c.ID, License: c.License, Status: p.status, LastSeen: time.Unix(now, 0).UTC(), Match: p.match}
	if err = tx.QueryRow(`SELECT checkins, suspected_duplicate FROM device_checkins WHERE device_id = ?`, c.Device[:]).Scan(&res.CheckIns, &res.SuspectedDuplicate); err != nil {
		return nil, nil, err
	}
	lease, err := licenseLease(tx, c.License)
	if err != nil || lease == 0 {
		return res, nil, err
	}
	// A TPM-bound activation is refreshed with its credential unchanged: the
	// new token still needs that TPM to verify, so a copy gains nothing.
	tok, exp, err := l.refresh(tx, key, p, lease)
	if err != nil {
		return nil, nil, err
	}
	res.Token, res.Expires = tok, &exp
	return res, nil, nil
}

// flagDuplicate marks the device a suspected duplicate and records why. Only
// the first suspicion is an event: whoever holds a copied activation cannot
// grow the ledger by repeating it.
func (l *Ledger) flagDuplicate(tx *sql.Tx, p *proof, why string) error {
	c := p.claims
	var flagged bool
	err := tx.QueryRow(`SELECT suspected_duplicate FROM device_checkins WHERE device_id = ?`, c.Device[:]).Scan(&flagged)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if flagged {
		return nil
	}
	if _, err := tx.Exec(`INSERT INTO device_checkins (device_id, activation_id, last_seen, fingerprint_hash, suspected_duplicate) VALUES (?, ?, 0, ?, 1)
		ON CONFLICT (device_id) DO UPDATE SET suspected_duplicate = 1`, c.Device[:], c.ID[:], []byte{}); err != nil {
		return err
	}
	return l.event(tx, "suspected-duplicate", p.custID, c.License[:], c.Device[:], fmt.Sprintf("activation %s: %s", c.ID, why))
}

// Return decommissions the device holding activationToken on its own request,
// with the same proof as CheckIn (a non-matching machine is refused and
// flagged). The ledger's decommission rules apply.
func (l *Ledger) Return(key *Key, activationToken []byte, current *fingerprint.Fingerprint) (activation.DeviceID, error) {
	var dev activation.DeviceID
	var refusal error
	err := l.tx(func(tx *sql.Tx) error {
		p, err := l.prove(tx, key, activationToken, current)
		if err != nil {
			return err
		}
		if p.mismatch != nil {
			refusal = p.mismatch
			return l.flagDuplicate(tx, p, "asked to return its seat from a machine that does not match the activation: "+p.match.Reason())
		}
		if p.tpmBound {
			// Anyone with a copy of the files and the fingerprint could send
			// this: only the device's TPM key may give a bound seat back.
			return fmt.Errorf("%w: activation %s is bound to a TPM: return its seat with the device's signed proof (seatkey return)", ErrBadActivation, p.claims.ID)
		}
		dev = p.claims.Device
		return nil
	})
	if err != nil {
		return dev, err
	}
	if refusal != nil {
		return dev, refusal
	}
	return dev, l.Decommission(dev)
}

// Seen is a device's check-in state.
type Seen struct {
	LastSeen           time.Time `json:"last_seen"`
	CheckIns           int64     `json:"checkins"`
	SuspectedDuplicate bool      `json:"suspected_duplicate"`
}

// EachDeviceSeen calls fn for every device the filter selects, in the order
// of EachDevice, with its check-in state, streaming rows.
func (l *Ledger) EachDeviceSeen(f Filter, fn func(*Device, Seen) error) error {
	w, args := f.where()
	rows, err := l.db.Query(`SELECT l.id, c.name, d.id, d.label, d.status, d.failover, d.overage, l.overage_price_cents, d.first_activated, d.last_activated,
		COALESCE(k.last_seen, 0), COALESCE(k.checkins, 0), COALESCE(k.suspected_duplicate, 0)
		FROM devices d JOIN licenses l ON l.id = d.license_id JOIN customers c ON c.id = l.customer_id
		LEFT JOIN device_checkins k ON k.device_id = d.id`+w+` ORDER BY l.id, d.first_activated, d.id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var d Device
	var lic, dev []byte
	var price, first, last, seen int64
	for rows.Next() {
		var s Seen
		if err := rows.Scan(&lic, &d.Customer, &dev, &d.Label, &d.Status, &d.Failover, &d.Overage, &price, &first, &last,
			&seen, &s.CheckIns, &s.SuspectedDuplicate); err != nil {
			return err
		}
		copy(d.License[:], lic)
		copy(d.ID[:], dev)
		d.PriceCents = 0
		if d.Overage {
			d.PriceCents = price
		}
		d.FirstActivated, d.LastActivated = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		if seen > 0 {
			s.LastSeen = time.Unix(seen, 0).UTC()
		}
		if err := fn(&d, s); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Customer is one customer's account.
type Customer struct {
	Name          string `json:"name"`
	Contact       string `json:"contact"`
	Suspended     bool   `json:"suspended"`
	Recommissions int    `json:"recommissions"`
	Licenses      int    `json:"licenses"`
}

// Customers lists the customers the filter selects (by name), by name.
func (l *Ledger) Customers(f Filter) ([]Customer, error) {
	w, args := " WHERE 1=1", []any{}
	if f.Customer != "" {
		w, args = " WHERE c.name = ?", []any{f.Customer}
	}
	rows, err := l.db.Query(`SELECT c.name, c.contact, c.suspended, c.recommissions, COUNT(l.id) FROM customers c
		LEFT JOIN licenses l ON l.customer_id = c.id`+w+` GROUP BY c.id ORDER BY c.name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Customer{}
	for rows.Next() {
		var c Customer
		if err := rows.Scan(&c.Name, &c.Contact, &c.Suspended, &c.Recommissions, &c.Licenses); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// LicenseInfo is one license as the ledger records it.
type LicenseInfo struct {
	ID                license.ID   `json:"id"`
	Customer          string       `json:"customer"`
	Product           string       `json:"product"`
	Edition           string       `json:"edition"`
	Kind              license.Kind `json:"kind"`
	Seats             int          `json:"seats"`
	Failover          int          `json:"failover"`
	Expires           *time.Time   `json:"expires,omitempty"`
	UpgradesUntil     *time.Time   `json:"upgrades_until,omitempty"`
	OverageAllowed    bool         `json:"overage_allowed"`
	OveragePriceCents int64        `json:"overage_price_cents"`
	// The license's migration and lease terms (LicensePolicy), in seconds;
	// zero grace: no migrations; zero lease: none; -1 migrations: no cap.
	MigrationGraceSeconds int64     `json:"migration_grace_seconds"`
	MigrationsPerYear     int       `json:"migrations_per_year"`
	LeaseSeconds          int64     `json:"lease_seconds"`
	RecordedAt            time.Time `json:"recorded_at"`
}

// Licenses lists the licenses the filter selects, by ID.
func (l *Ledger) Licenses(f Filter) ([]LicenseInfo, error) {
	w, args := f.where()
	rows, err := l.db.Query(`SELECT l.id, c.name, l.product, l.edition, l.kind, l.seats, l.failover, l.expires, l.upgrades_until,
		l.overage_allowed, l.overage_price_cents, l.migration_grace, l.migrations_per_year, l.lease, l.recorded_at
		FROM licenses l JOIN customers c ON c.id = l.customer_id`+w+` ORDER BY l.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []LicenseInfo{}
	for rows.Next() {
		var li LicenseInfo
		var id []byte
		var kind int
		var exp, upg sql.NullInt64
		var rec int64
		if err := rows.Scan(&id, &li.Customer, &li.Product, &li.Edition, &kind, &li.Seats, &li.Failover, &exp, &upg,
			&li.OverageAllowed, &li.OveragePriceCents, &li.MigrationGraceSeconds, &li.MigrationsPerYear, &li.LeaseSeconds, &rec); err != nil {
			return nil, err
		}
		copy(li.ID[:], id)
		li.Kind = license.Kind(kind)
		li.RecordedAt = time.Unix(rec, 0).UTC()
		if exp.Valid {
			t := time.Unix(exp.Int64, 0).UTC()
			li.Expires = &t
		}
		if upg.Valid {
			t := time.Unix(upg.Int64, 0).UTC()
			li.UpgradesUntil = &t
		}
		out = append(out, li)
	}
	return out, rows.Err()
}

// LatestRevocationList returns the signed token of the highest-sequence
// list stored, or ErrNoRevocationList.
func (l *Ledger) LatestRevocationList() ([]byte, uint64, error) {
	var tok []byte
	var seq int64
	err := l.db.QueryRow(`SELECT sequence, token FROM published_revocation_lists ORDER BY sequence DESC LIMIT 1`).Scan(&seq, &tok)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, ErrNoRevocationList
	}
	return tok, uint64(seq), err
}
