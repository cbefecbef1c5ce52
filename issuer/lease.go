package issuer

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// Leases (SPEC 10.4 rule 12). A license may have a lease: every activation
// the issuer signs for it expires at most that long after it is issued, and
// a check-in of the device's current activation returns the same activation
// (same ID, so one revocation stops every refresh) signed again with a new
// iat and expiry. A machine that stops checking in stops working when its
// lease ends, even offline.

// MaxLease bounds a license's lease (ten years, as other durations).
const MaxLease = 10 * 365 * 24 * time.Hour

// ErrLease refuses a lease that is out of range at minting.
var ErrLease = errors.New("lease out of range")

// ErrSupersededActivation refuses to refresh an activation that is no
// longer its device's newest: the device was activated again since.
var ErrSupersededActivation = errors.New("activation superseded by a newer activation of its device")

// leaseMigration stores each license's lease and each activation's current
// expiry and refreshes.
const leaseMigration = `ALTER TABLE licenses ADD COLUMN lease INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE activations ADD COLUMN expires INTEGER;
	ALTER TABLE activations ADD COLUMN refreshed_at INTEGER;
	ALTER TABLE activations ADD COLUMN refreshes INTEGER NOT NULL DEFAULT 0;`

// leaseSeconds is the stored form of a policy's lease: 0 for none.
func (p *LicensePolicy) leaseSeconds() (int64, error) {
	switch {
	case p.Lease == 0:
		return 0, nil
	case p.Lease < time.Second || p.Lease > MaxLease:
		return 0, fmt.Errorf("%w: %s (between 1s and %s, or 0 for none)", ErrLease, p.Lease, MaxLease)
	}
	return int64(p.Lease / time.Second), nil
}

// leaseEnd is when an activation issued now for a license with this lease
// (seconds, 0: none) must expire, given the expiry it would otherwise have
// (zero: none): the earlier of the two.
func leaseEnd(now time.Time, lease int64, exp time.Time) time.Time {
	if lease <= 0 {
		return exp
	}
	end := now.Add(time.Duration(lease) * time.Second)
	if exp.IsZero() || end.Before(exp) {
		return end
	}
	return exp
}

// refresh signs the proven activation p again for a leased license (lease
// seconds > 0): same claims and ID, iat now, exp the lease end capped by
// the license's expiry and the device's migration grace. It refuses what
// may not be extended: an activation that is not its device's newest, a
// device the vendor revoked, a migrating device whose grace has ended, a
// license or a key the ledger revoked. p's revocation, license and expiry
// were checked by prove, and a decommissioned device by the caller.
func (l *Ledger) refresh(tx *sql.Tx, key *Key, p *proof, lease int64) ([]byte, time.Time, error) {
	c := p.claims
	now := l.now()
	if err := checkSigningKey(tx, key.ID(), now); err != nil {
		return nil, time.Time{}, err
	}
	var issued int64
	var licTok []byte
	var licExp, until sql.NullInt64
	err := tx.QueryRow(`SELECT a.issued_at, l.token, l.expires, d.migration_until FROM activations a
		JOIN licenses l ON l.id = a.license_id JOIN devices d ON d.id = a.device_id WHERE a.id = ?`, c.ID[:]).
		Scan(&issued, &licTok, &licExp, &until)
	if err != nil {
		return nil, time.Time{}, err
	}
	var newer int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM activations WHERE device_id = ? AND id <> ? AND issued_at > ?`, c.Device[:], c.ID[:], issued).Scan(&newer); err != nil {
		return nil, time.Time{}, err
	}
	if newer > 0 {
		return nil, time.Time{}, fmt.Errorf("%w: %w: %s has a newer activation than %s; use that one", ErrBadActivation, ErrSupersededActivation, c.Device, c.ID)
	}
	if err := checkDeviceRevoked(tx, c.Device); err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrBadActivation, err)
	}
	if err := checkLicenseRevoked(tx, c.License); err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrBadActivation, err)
	}
	lt, err := license.Inspect(licTok) // verified when it was recorded, and by prove
	if err != nil {
		return nil, time.Time{}, err
	}
	if err := checkLicenseKey(tx, lt.KeyID, lt.Claims.IssuedAt); err != nil {
		return nil, time.Time{}, fmt.Errorf("%w: %w", ErrBadActivation, err)
	}
	var exp time.Time
	if licExp.Valid {
		exp = time.Unix(licExp.Int64, 0).UTC()
	}
	if until.Valid {
		end := time.Unix(until.Int64, 0).UTC()
		if !now.Before(end) {
			return nil, time.Time{}, fmt.Errorf("%w: %w: %s was migrating until %s and the machine it replaces is still active: decommission one of them",
				ErrBadActivation, ErrMigrationOver, c.Device, end.Format(time.DateOnly))
		}
		if exp.IsZero() || end.Before(exp) {
			exp = end
		}
	}
	// A lease that ran out is not revived, not even within the clock skew
	// the verifier allows a machine (found in review).
	if !c.Expires.IsZero() && !now.Before(c.Expires) {
		return nil, time.Time{}, fmt.Errorf("%w: %w: the lease ended %s; the machine must be activated again", ErrBadActivation, verifier.ErrActivationExpired, c.Expires.Format(time.RFC3339))
	}
	exp = leaseEnd(now, lease, exp)
	if !exp.After(now) {
		return nil, time.Time{}, fmt.Errorf("%w: %w: nothing left to lease (license ends %s)", ErrBadActivation, ErrExpiredForLease, exp.Format(time.RFC3339))
	}
	claims := *c
	claims.IssuedAt, claims.Expires = now, exp
	payload, err := claims.Marshal()
	if err != nil {
		return nil, time.Time{}, err
	}
	tok, err := key.Sign(license.TypeActivation, payload)
	if err != nil {
		return nil, time.Time{}, err
	}
	if _, err := tx.Exec(`UPDATE activations SET token = ?, expires = ?, refreshed_at = ?, refreshes = refreshes + 1 WHERE id = ?`,
		tok, exp.Unix(), now.Unix(), c.ID[:]); err != nil {
		return nil, time.Time{}, err
	}
	return tok, exp, nil
}

// ErrExpiredForLease: the license ends (within the verifier's clock skew)
// before a refreshed activation could start.
var ErrExpiredForLease = errors.New("the license has no time left for a lease")

// licenseLease reads a license's lease in seconds (0: none).
func licenseLease(tx *sql.Tx, lic license.ID) (int64, error) {
	var lease int64
	err := tx.QueryRow(`SELECT lease FROM licenses WHERE id = ?`, lic[:]).Scan(&lease)
	return lease, err
}
