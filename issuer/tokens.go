package issuer

import (
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// onlineMigration adds what the licensing server needs: vendor API tokens
// (stored as SHA-256 hashes only), the check-in state of each device and the
// signed revocation lists as published, so the server can hand out the latest.
// It also indexes device_digests by device: every activation deletes a
// device's digests by device ID, which without it scans the whole table.
// It is appended at the end of migrations.
var onlineMigration = `CREATE INDEX IF NOT EXISTS device_digests_device ON device_digests(device_id);
	CREATE TABLE api_tokens (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
		hash BLOB NOT NULL UNIQUE,
		created_at INTEGER NOT NULL,
		expires_at INTEGER,
		revoked INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE device_checkins (
		device_id BLOB PRIMARY KEY REFERENCES devices(id),
		activation_id BLOB NOT NULL,
		last_seen INTEGER NOT NULL,
		fingerprint_hash BLOB NOT NULL,
		prev_fingerprint_hash BLOB,
		prev_seen INTEGER,
		checkins INTEGER NOT NULL DEFAULT 0,
		suspected_duplicate INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE published_revocation_lists (
		sequence INTEGER PRIMARY KEY,
		token BLOB NOT NULL
	);`

// Scope is what a vendor API token may do.
type Scope string

// Scopes: read sees customers, licenses, devices and reports; write may also
// revoke, unsuspend and publish revocation lists.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
)

// Errors about API tokens.
var (
	ErrBadToken    = errors.New("invalid, expired or revoked API token")
	ErrTokenExists = errors.New("an API token with this name exists")
	ErrTokenName   = errors.New("token name must be 1 to 64 printable characters")
)

// tokenPrefix starts every API token, so a leaked one is recognisable in logs
// and by secret scanners.
const tokenPrefix = "skt_"

// APIToken describes a vendor API token; the secret itself is never stored.
type APIToken struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Scope     Scope      `json:"scope"`
	CreatedAt time.Time  `json:"created_at"`
	Expires   *time.Time `json:"expires,omitempty"` // nil: never
	Revoked   bool       `json:"revoked"`
}

// Allows reports whether a token of scope s may do what need requires.
func (s Scope) Allows(need Scope) bool { return s == ScopeWrite || s == need }

func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateAPIToken makes a new API token and returns its secret, which exists
// only in the return value: the ledger keeps its SHA-256 hash. A positive
// validity makes it expire that long from now; zero, never.
func (l *Ledger) CreateAPIToken(name string, scope Scope, validity time.Duration) (string, error) {
	if name == "" || len(name) > 64 || !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return "", ErrTokenName
	}
	if scope != ScopeRead && scope != ScopeWrite {
		return "", fmt.Errorf("scope %q: must be read or write", scope)
	}
	if validity < 0 {
		return "", fmt.Errorf("token validity %s: must not be negative", validity)
	}
	var expires any
	if validity > 0 {
		expires = l.now().Add(validity).Unix()
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	err := l.tx(func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %q", ErrTokenExists, name)
		}
		if _, err := tx.Exec(`INSERT INTO api_tokens (name, scope, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			name, string(scope), hashToken(secret), l.now().Unix(), expires); err != nil {
			return err
		}
		return l.event(tx, "api-token-created", 0, nil, nil, fmt.Sprintf("%q, scope %s", name, scope))
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// APITokenFor returns the live token whose secret this is, or ErrBadToken
// (unknown, expired or revoked). The lookup is by hash: the secret is never
// compared byte by byte.
func (l *Ledger) APITokenFor(secret string) (*APIToken, error) {
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return nil, ErrBadToken
	}
	t, err := scanToken(l.db.QueryRow(`SELECT id, name, scope, created_at, expires_at, revoked FROM api_tokens WHERE hash = ?`, hashToken(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrBadToken
	} else if err != nil {
		return nil, err
	}
	if t.Revoked || (t.Expires != nil && !l.now().Before(*t.Expires)) {
		return nil, ErrBadToken
	}
	return t, nil
}

func scanToken(row interface{ Scan(...any) error }) (*APIToken, error) {
	var t APIToken
	var created int64
	var expires sql.NullInt64
	if err := row.Scan(&t.ID, &t.Name, &t.Scope, &created, &expires, &t.Revoked); err != nil {
		return nil, err
	}
	t.CreatedAt = time.Unix(created, 0).UTC()
	if expires.Valid {
		e := time.Unix(expires.Int64, 0).UTC()
		t.Expires = &e
	}
	return &t, nil
}

// RevokeAPIToken stops a token from working, at once.
func (l *Ledger) RevokeAPIToken(name string) error {
	return l.tx(func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE api_tokens SET revoked = 1 WHERE name = ? AND revoked = 0`, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: no live token named %q", ErrBadToken, name)
		}
		return l.event(tx, "api-token-revoked", 0, nil, nil, fmt.Sprintf("%q", name))
	})
}

// APITokens lists every token (never a secret), oldest first.
func (l *Ledger) APITokens() ([]APIToken, error) {
	rows, err := l.db.Query(`SELECT id, name, scope, created_at, expires_at, revoked FROM api_tokens ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}
