package issuer

import (
	"crypto/sha256"
	"database/sql"
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
// Windows that ended are forgotten, so the table holds only live ones.
func (l *Ledger) CountAttempt(key string, max int, window time.Duration, now time.Time) (bool, error) {
	h := sha256.Sum256([]byte("seatkey rate limit\x00" + key))
	var n int
	err := l.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM rate_limits WHERE expires_at <= ?`, now.Unix()); err != nil {
			return err
		}
		return tx.QueryRow(`INSERT INTO rate_limits (key, expires_at, n) VALUES (?, ?, 1)
			ON CONFLICT (key) DO UPDATE SET n = rate_limits.n + 1 RETURNING n`, h[:], now.Add(window).Unix()).Scan(&n)
	})
	return err == nil && n <= max, err
}
