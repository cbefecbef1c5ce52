package issuer

import (
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Operator errors.
var (
	ErrOperatorExists = errors.New("an operator with this name exists")
	ErrOperatorName   = errors.New("operator name must be 1 to 64 letters, digits, '.', '_', '-' or '@'")
	ErrBadPassword    = errors.New("unknown operator or wrong password")
	ErrWeakPassword   = errors.New("password must be at least 12 characters")
)

// Argon2Params are the Argon2id parameters a password hash was made with;
// they are recorded in the hash, so raising them later keeps old hashes valid.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 is used for new operator passwords (64 MiB, 2 passes, 2 lanes).
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 2, Threads: 2}

// HashPassword returns the PHC-style encoding
// "$argon2id$v=19$m=M,t=T,p=P$salt$hash" (unpadded base64) of password
// under a fresh random 16-byte salt.
func HashPassword(password []byte, p Argon2Params) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum))
}

// CheckPassword reports whether password matches an encoding from
// HashPassword, comparing in constant time.
func CheckPassword(encoded string, password []byte) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil ||
		p.Memory < 8*1024 || p.Memory > 1<<21 || p.Time < 1 || p.Time > 16 || p.Threads < 1 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey(password, salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when an operator name is unknown, so that a wrong
// name takes as long as a wrong password.
// It is made on first use: programs that never check a password pay nothing.
var dummyHash = sync.OnceValue(func() string { return HashPassword([]byte("seatkey-no-such-operator"), DefaultArgon2) })

func validOperatorName(name string) bool {
	if name == "" || len(name) > 64 || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

// AddOperator records a portal operator account with an Argon2id hash of
// its password; read-only operators see everything and change nothing.
func (l *Ledger) AddOperator(name string, password []byte, readOnly bool) error {
	if !validOperatorName(name) {
		return fmt.Errorf("%w: %q", ErrOperatorName, name)
	}
	if utf8.RuneCount(password) < 12 {
		return ErrWeakPassword
	}
	hash := HashPassword(password, DefaultArgon2)
	return l.tx(func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM portal_operators WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s", ErrOperatorExists, name)
		}
		if _, err := tx.Exec(`INSERT INTO portal_operators (name, password_hash, read_only, created_at) VALUES (?, ?, ?, ?)`,
			name, hash, readOnly, l.now().Unix()); err != nil {
			return err
		}
		scope := "read-write"
		if readOnly {
			scope = "read-only"
		}
		return l.event(tx, "operator-added", 0, nil, nil, name+" ("+scope+")")
	})
}

// CheckOperator returns whether the operator may write, if name and
// password match an account; otherwise ErrBadPassword, after the same work.
func (l *Ledger) CheckOperator(name string, password []byte) (readOnly bool, err error) {
	var hash string
	err = l.db.QueryRow(`SELECT password_hash, read_only FROM portal_operators WHERE name = ?`, name).Scan(&hash, &readOnly)
	if errors.Is(err, sql.ErrNoRows) {
		CheckPassword(dummyHash(), password)
		return false, ErrBadPassword
	} else if err != nil {
		return false, err
	}
	if !CheckPassword(hash, password) {
		return false, ErrBadPassword
	}
	return readOnly, nil
}

// OperatorReadOnly returns whether a recorded operator is read-only
// (ErrBadPassword if the account no longer exists).
func (l *Ledger) OperatorReadOnly(name string) (bool, error) {
	var ro bool
	err := l.db.QueryRow(`SELECT read_only FROM portal_operators WHERE name = ?`, name).Scan(&ro)
	if errors.Is(err, sql.ErrNoRows) {
		return false, ErrBadPassword
	}
	return ro, err
}
