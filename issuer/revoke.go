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

// ErrBadID is returned for a revocation target that is not a lic_, act_ or
// key_ ID. It is license.ErrBadID: one name, one meaning.
var ErrBadID = license.ErrBadID

// ErrNotRevoked: Unrevoke found no revocation in force to take back.
var ErrNotRevoked = errors.New("not revoked")

// parseTarget reads lic_..., act_... or key_....
func parseTarget(s string) (kind string, id []byte, err error) {
	switch {
	case strings.HasPrefix(s, "lic_"):
		v, err := license.ParseID(s)
		return "license", v[:], err
	case strings.HasPrefix(s, "act_"):
		v, err := activation.ParseID(s)
		return "activation", v[:], err
	case strings.HasPrefix(s, "key_"):
		v, err := license.ParseKeyID(s)
		return "key", v[:], err
	}
	return "", nil, fmt.Errorf("%w: %q", ErrBadID, s)
}

// Revoke revokes a license, activation or key (by its text ID) that the
// ledger recorded (else ErrUnknownLicense, ErrUnknownActivation or
// ErrUnknownKey), as of at (zero: now). A time in the future takes effect
// then: lists published before it do not carry the entry (a retirement is
// the exception: its time says which tokens it covers, so it is listed at once).
// Revoking what is already revoked for the same reason changes nothing and
// is not an error; another reason (a retired key found compromised) replaces it.
// Retiring a key is Revoke with license.ReasonRetired (at: the retirement time).
func (l *Ledger) Revoke(target string, reason license.Reason, at time.Time) (already bool, err error) {
	kind, id, err := parseTarget(target)
	if err != nil {
		return false, err
	}
	if (reason == license.ReasonRetired || reason == license.ReasonKeyCompromise) && kind != "key" {
		return false, fmt.Errorf("reason %s applies to keys only", reason)
	}
	if at.IsZero() {
		at = l.now()
	}
	err = l.tx(func(tx *sql.Tx) error {
		if err := known(tx, kind, id); err != nil {
			return fmt.Errorf("%w: %s", err, target)
		}
		var active bool
		var prev int
		err := tx.QueryRow(`SELECT active, reason FROM revocations WHERE kind = ? AND id = ?`, kind, id).Scan(&active, &prev)
		if err == nil && active && license.Reason(prev) == reason {
			already = true
			return nil
		} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO revocations (kind, id, reason, at, active) VALUES (?, ?, ?, ?, 1)
			ON CONFLICT (kind, id) DO UPDATE SET reason = excluded.reason, at = excluded.at, active = 1`, kind, id, int(reason), at.Unix()); err != nil {
			return err
		}
		return l.event(tx, "revoked", 0, nil, nil, fmt.Sprintf("%s %s: %s", kind, target, reason))
	})
	return already, err
}

// Unrevoke takes a revocation back; the next list no longer carries it.
func (l *Ledger) Unrevoke(target string) error {
	kind, id, err := parseTarget(target)
	if err != nil {
		return err
	}
	return l.tx(func(tx *sql.Tx) error {
		if err := known(tx, kind, id); err != nil {
			return fmt.Errorf("%w: %s", err, target)
		}
		res, err := tx.Exec(`UPDATE revocations SET active = 0 WHERE kind = ? AND id = ? AND active = 1`, kind, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: %s %s", ErrNotRevoked, kind, target)
		}
		return l.event(tx, "unrevoked", 0, nil, nil, fmt.Sprintf("%s %s", kind, target))
	})
}

// PublishRevocationList signs the next list with every active revocation,
// valid until now+validity. Sequences are the ledger's own, one counter for
// every list it ever publishes whatever the key or the vendor name: rotating
// keys never restarts it. A key the ledger has revoked or retired signs none.
func (l *Ledger) PublishRevocationList(key *Key, vendor string, validity time.Duration) ([]byte, *license.Revocations, error) {
	var token []byte
	var list *license.Revocations
	err := l.tx(func(tx *sql.Tx) error {
		if err := checkSigningKey(tx, key.ID(), l.now()); err != nil {
			return err
		}
		var seq uint64
		if err := tx.QueryRow(`SELECT COALESCE(MAX(sequence), 0) + 1 FROM revocation_lists`).Scan(&seq); err != nil {
			return err
		}
		entries := map[string][]license.Entry{}
		now := l.now()
		// An entry dated in the future goes into the first list issued at or
		// after its date (SPEC 11.1); a key's retirement may be announced ahead.
		rows, err := tx.Query(`SELECT kind, id, reason, at FROM revocations WHERE active = 1 AND (at <= ? OR reason = ?)`, now.Unix(), int(license.ReasonRetired))
		if err != nil {
			return err
		}
		for rows.Next() {
			var kind string
			var e license.Entry
			var reason int
			var at int64
			if err := rows.Scan(&kind, &e.ID, &reason, &at); err != nil {
				rows.Close()
				return err
			}
			e.Reason, e.At = license.Reason(reason), time.Unix(at, 0).UTC()
			entries[kind] = append(entries[kind], e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		list, err = license.NewRevocations(vendor, seq, now, now.Add(validity), entries["license"], entries["activation"], entries["key"])
		if err != nil {
			return err
		}
		payload, err := list.Marshal()
		if err != nil {
			return err
		}
		if token, err = key.Sign(license.TypeRevocation, payload); err != nil {
			return err
		}
		kid := key.ID()
		nl, na, nk := list.Len()
		if _, err := tx.Exec(`INSERT INTO revocation_lists (sequence, issued_at, next_update, kid, licenses, activations, keys) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			seq, now.Unix(), list.NextUpdate.Unix(), kid[:], nl, na, nk); err != nil {
			return err
		}
		// Kept signed, in the same transaction, so that the server hands out
		// the newest list whoever published it (CLI, server or portal).
		if _, err := tx.Exec(`INSERT INTO published_revocation_lists (sequence, token) VALUES (?, ?)`, seq, token); err != nil {
			return err
		}
		return l.event(tx, "revocation-list", 0, nil, nil, fmt.Sprintf("sequence %d: %d licenses, %d activations, %d keys", seq, nl, na, nk))
	})
	return token, list, err
}

// keyRevocation returns the ledger's active revocation of a key, if any.
func keyRevocation(tx *sql.Tx, kid license.KeyID) (reason license.Reason, at time.Time, ok bool, err error) {
	var r int
	var sec int64
	err = tx.QueryRow(`SELECT reason, at FROM revocations WHERE kind = 'key' AND id = ? AND active = 1`, kid[:]).Scan(&r, &sec)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, false, nil
	} else if err != nil {
		return 0, time.Time{}, false, err
	}
	return license.Reason(r), time.Unix(sec, 0).UTC(), true, nil
}

// checkSigningKey refuses to sign with a key the ledger has revoked, or
// retired at or before now.
func checkSigningKey(tx *sql.Tx, kid license.KeyID, now time.Time) error {
	reason, at, ok, err := keyRevocation(tx, kid)
	switch {
	case err != nil || !ok:
		return err
	case reason == license.ReasonRetired && at.After(now):
		return nil // retirement scheduled for later
	}
	return fmt.Errorf("%w: %s (%s since %s): sign with a current key", ErrKeyRevoked, kid, reason, at.Format(time.RFC3339))
}

// checkLicenseKey refuses a license signed by a key revoked in the ledger:
// for compromise (or any reason but retirement) whenever it was signed,
// retired if it was issued after the retirement.
func checkLicenseKey(tx *sql.Tx, kid license.KeyID, iat time.Time) error {
	reason, at, ok, err := keyRevocation(tx, kid)
	switch {
	case err != nil || !ok:
		return err
	case reason == license.ReasonRetired && !iat.After(at):
		return nil
	}
	return fmt.Errorf("%w: %w: the license was signed by %s (%s since %s)", ErrRequestRefused, ErrKeyRevoked, kid, reason, at.Format(time.RFC3339))
}

// checkLicenseRevoked refuses a license the ledger has revoked.
func checkLicenseRevoked(tx *sql.Tx, lic license.ID) error {
	var reason int
	err := tx.QueryRow(`SELECT reason FROM revocations WHERE kind = 'license' AND id = ? AND active = 1`, lic[:]).Scan(&reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return fmt.Errorf("%w: %w: %s (%s)", ErrRequestRefused, ErrLicenseRevoked, lic, license.Reason(reason))
}
