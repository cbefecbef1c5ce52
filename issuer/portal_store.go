package issuer

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/license"
)

// portalMigration adds what the customer and operator portal stores:
// operator accounts (Argon2id hashes), one-time sign-in links and sessions,
// both kept only as SHA-256 hashes of their secrets. It is appended at the
// end of migrations.
var portalMigration = `CREATE TABLE portal_operators (
		name TEXT PRIMARY KEY,
		password_hash TEXT NOT NULL,
		read_only INTEGER NOT NULL,
		created_at INTEGER NOT NULL
	);
	CREATE TABLE portal_signin_links (
		hash BLOB PRIMARY KEY,
		customer_id INTEGER NOT NULL REFERENCES customers(id),
		license_id BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		used_at INTEGER
	);
	CREATE TABLE portal_sessions (
		hash BLOB PRIMARY KEY,
		kind TEXT NOT NULL CHECK (kind IN ('customer', 'operator')),
		subject TEXT NOT NULL,
		csrf BLOB NOT NULL,
		created_at INTEGER NOT NULL,
		last_seen INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		idle_seconds INTEGER NOT NULL
	);`

// Portal errors.
var (
	ErrLinkInvalid = errors.New("sign-in link is unknown, used or expired")
	ErrNoSession   = errors.New("no such session, or it expired")
)

// LicenseCustomer returns the customer of a license and its primary contact.
func (l *Ledger) LicenseCustomer(id license.ID) (customer, contact string, err error) {
	err = l.db.QueryRow(`SELECT c.name, c.contact FROM licenses l JOIN customers c ON c.id = l.customer_id WHERE l.id = ?`, id[:]).Scan(&customer, &contact)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("%w: %s", ErrUnknownLicense, id)
	}
	return customer, contact, err
}

// CreateSignInLink records a one-time sign-in link for the customer of lic,
// by the SHA-256 hash of its secret, valid until expires. Expired links are
// purged on the way.
func (l *Ledger) CreateSignInLink(hash []byte, lic license.ID, at, expires time.Time) error {
	return l.tx(func(tx *sql.Tx) error {
		now := at.Unix()
		if _, err := tx.Exec(`DELETE FROM portal_signin_links WHERE expires_at < ?`, now); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO portal_signin_links (hash, customer_id, license_id, created_at, expires_at)
			SELECT ?, customer_id, id, ?, ? FROM licenses WHERE id = ?`, hash, now, expires.Unix(), lic[:])
		return err
	})
}

// SignInLinkUsable reports, without using it, whether a link is unused and unexpired.
func (l *Ledger) SignInLinkUsable(hash []byte, at time.Time) bool {
	var n int
	l.db.QueryRow(`SELECT COUNT(*) FROM portal_signin_links WHERE hash = ? AND used_at IS NULL AND expires_at >= ?`, hash, at.Unix()).Scan(&n)
	return n == 1
}

// ConsumeSignInLink uses a link once and returns its customer; a second
// use, an expired or an unknown link is ErrLinkInvalid.
func (l *Ledger) ConsumeSignInLink(hash []byte, at time.Time) (customer string, err error) {
	err = l.tx(func(tx *sql.Tx) error {
		now := at.Unix()
		var custID int64
		var lic []byte
		err := tx.QueryRow(`UPDATE portal_signin_links SET used_at = ? WHERE hash = ? AND used_at IS NULL AND expires_at >= ?
			RETURNING customer_id, license_id`, now, hash, now).Scan(&custID, &lic)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrLinkInvalid
		} else if err != nil {
			return err
		}
		if err := tx.QueryRow(`SELECT name FROM customers WHERE id = ?`, custID).Scan(&customer); err != nil {
			return err
		}
		return l.event(tx, "portal-signin", custID, lic, nil, "one-time link")
	})
	return customer, err
}

// PortalSession is a signed-in portal user: a customer (Subject is the
// customer's name) or an operator (Subject is the operator's name).
type PortalSession struct {
	Kind     string // "customer" or "operator"
	Subject  string
	CSRF     []byte // the session's anti-forgery token
	Created  time.Time
	LastSeen time.Time
}

// CreatePortalSession records a session by the SHA-256 hash of its secret.
// It ends idle after no use for idle, and absolute after created+absolute.
// Ended sessions are purged on the way.
func (l *Ledger) CreatePortalSession(hash []byte, s PortalSession, at time.Time, idle, absolute time.Duration) error {
	return l.tx(func(tx *sql.Tx) error {
		now := at.Unix()
		if _, err := tx.Exec(`DELETE FROM portal_sessions WHERE expires_at <= ? OR last_seen + idle_seconds <= ?`, now, now); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO portal_sessions (hash, kind, subject, csrf, created_at, last_seen, expires_at, idle_seconds)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, hash, s.Kind, s.Subject, s.CSRF, now, now, now+int64(absolute/time.Second), int64(idle/time.Second))
		return err
	})
}

// TouchPortalSession returns the live session with this hash and marks it
// used at the given time; an ended session is deleted and is ErrNoSession.
func (l *Ledger) TouchPortalSession(hash []byte, at time.Time) (*PortalSession, error) {
	var s PortalSession
	err := l.tx(func(tx *sql.Tx) error {
		now := at.Unix()
		var created, last, expires, idle int64
		err := tx.QueryRow(`SELECT kind, subject, csrf, created_at, last_seen, expires_at, idle_seconds FROM portal_sessions WHERE hash = ?`, hash).
			Scan(&s.Kind, &s.Subject, &s.CSRF, &created, &last, &expires, &idle)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoSession
		} else if err != nil {
			return err
		}
		if now >= expires || now >= last+idle {
			return errSessionEnded
		}
		s.Created, s.LastSeen = time.Unix(created, 0).UTC(), time.Unix(now, 0).UTC()
		_, err = tx.Exec(`UPDATE portal_sessions SET last_seen = ? WHERE hash = ?`, now, hash)
		return err
	})
	if errors.Is(err, errSessionEnded) {
		if err := l.DeletePortalSession(hash); err != nil {
			return nil, err
		}
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// errSessionEnded: the session was found ended; it is deleted after the
// read-only transaction, then reported as ErrNoSession.
var errSessionEnded = errors.New("session ended")

// DeletePortalSession ends a session (sign out).
func (l *Ledger) DeletePortalSession(hash []byte) error {
	_, err := l.db.Exec(`DELETE FROM portal_sessions WHERE hash = ?`, hash)
	return err
}
