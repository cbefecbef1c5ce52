package issuer

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"time"
)

// Attempts counted for rate limits (the portal's sign-ins) live in the
// ledger, so that every instance serving one ledger shares them and a
// restart keeps them. Keys are stored hashed: a product key or an operator
// name typed at a sign-in form is nobody's business in a table dump.

// attemptsMigration: one row per key and window, pruned when it ends.
const attemptsMigration = `CREATE TABLE rate_limits (
		key BLOB PRIMARY KEY,
		expires_at INTEGER NOT NULL,
		n INTEGER NOT NULL
	);
	CREATE INDEX rate_limits_expiry ON rate_limits(expires_at);`

// CountAttempt counts one attempt under key in a fixed window that starts
// with the key's first attempt, and reports whether it is within max.
//
// A key already over its limit costs a read, not a write: a flood of
// refused attempts does not take the ledger's write lock from activations.
// A window that ends further ahead than a new one would (the clock was
// ahead, or another instance's is) starts again, so a clock stepped back
// locks nobody out. Windows that ended are removed a bounded batch at a
// time.
func (l *Ledger) CountAttempt(key string, max int, window time.Duration, now time.Time) (bool, error) {
	h := sha256.Sum256([]byte("seatkey rate limit\x00" + key))
	end, fresh := now.Unix(), now.Add(window).Unix()
	var n int
	var expires int64
	switch err := l.db.QueryRow(`SELECT n, expires_at FROM rate_limits WHERE key = ?`, h[:]).Scan(&n, &expires); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return false, err
	case n >= max && expires > end && expires <= fresh:
		return false, nil // over the limit in a live window: no write
	}
	err := l.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE expires_at <= ? LIMIT 500)`, end); err != nil {
			return err
		}
		return tx.QueryRow(`INSERT INTO rate_limits (key, expires_at, n) VALUES (?, ?, 1)
			ON CONFLICT (key) DO UPDATE SET
				n = CASE WHEN rate_limits.expires_at > ? OR rate_limits.expires_at <= ? THEN 1 ELSE rate_limits.n + 1 END,
				expires_at = CASE WHEN rate_limits.expires_at > ? OR rate_limits.expires_at <= ? THEN excluded.expires_at ELSE rate_limits.expires_at END
			RETURNING n`, h[:], fresh, fresh, end, fresh, end).Scan(&n)
	})
	return err == nil && n <= max, err
}
