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

// Revoke revokes a license, activation or key (by its text ID) as of now.
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
		res, err := tx.Exec(`UPDATE revocations SET active = 0 WHERE kind = ? AND id = ? AND active = 1`, kind, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s %s is not revoked", kind, target)
		}
		return l.event(tx, "unrevoked", 0, nil, nil, fmt.Sprintf("%s %s", kind, target))
	})
}

// PublishRevocationList signs the next list (sequence one higher than the
// last published) with every active revocation, valid until now+validity.
func (l *Ledger) PublishRevocationList(key *Key, vendor string, validity time.Duration) ([]byte, *license.RevocationList, error) {
	var token []byte
	var list *license.RevocationList
	err := l.tx(func(tx *sql.Tx) error {
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
		list, err = license.NewRevocationList(vendor, seq, now, now.Add(validity), entries["license"], entries["activation"], entries["key"])
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
		return l.event(tx, "revocation-list", 0, nil, nil, fmt.Sprintf("sequence %d: %d licenses, %d activations, %d keys", seq, nl, na, nk))
	})
	return token, list, err
}
