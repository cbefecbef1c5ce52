package issuer

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/seatkey/seatkey/license"
)

// Errors of opening, creating and looking up.
var (
	// ErrNoLedger: OpenLedger found no file. A mistyped path must not
	// become a new, empty ledger that then grants seats it never recorded.
	ErrNoLedger = errors.New("no ledger at this path")
	// ErrLedgerExists: CreateLedger found a file already there.
	ErrLedgerExists = errors.New("a file already exists at this path")
	// ErrUnknownActivation and ErrUnknownKey: the ledger never recorded the
	// activation or signing key named (see also ErrUnknownLicense).
	ErrUnknownActivation = errors.New("unknown activation")
	ErrUnknownKey        = errors.New("unknown signing key")
)

// CreateLedger creates a new, empty ledger at path (mode 0600; SQLite gives
// its journal files the same mode), refusing a path where anything exists,
// and opens it.
//
// A postgres:// URL names a database that must exist, and be empty of any
// ledger: CreateLedger makes the ledger's schema in it.
func CreateLedger(path string) (*Ledger, error) {
	if IsPostgres(path) {
		return openPostgresLedger(path, true)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s", ErrLedgerExists, path)
	}
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, err
	}
	l, err := OpenLedger(path)
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return l, nil
}

// ledgerExists is OpenLedger's check that path is an existing file.
func ledgerExists(path string) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNoLedger, path)
	}
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("ledger %s: not a regular file", path)
	}
	return nil
}

// LicenseToken returns the token of a license the ledger recorded, as it
// was minted, so that a lost license file can be written again.
func (l *Ledger) LicenseToken(id license.ID) ([]byte, error) {
	var tok []byte
	err := l.db.QueryRow(`SELECT token FROM licenses WHERE id = ?`, id[:]).Scan(&tok)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownLicense, id)
	}
	return tok, err
}

// known checks that the ledger recorded the license, activation or key a
// revocation names: revoking a mistyped ID must fail, not succeed silently.
func known(tx *sql.Tx, kind string, id []byte) error {
	q, unknown := `SELECT 1 FROM licenses WHERE id = ?`, ErrUnknownLicense
	switch kind {
	case "activation":
		q, unknown = `SELECT 1 FROM activations WHERE id = ?`, ErrUnknownActivation
	case "key":
		q, unknown = `SELECT 1 FROM signing_keys WHERE kid = ?`, ErrUnknownKey
	}
	var one int
	err := tx.QueryRow(q, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: the ledger has no record of it", unknown)
	}
	return err
}

// CustomerName returns the name the ledger records for a customer, matched
// without regard to case ("globex corp" finds "Globex Corp"). Two customers
// whose names differ only in case make the match ambiguous: an error.
func (l *Ledger) CustomerName(name string) (string, error) {
	rows, err := l.db.Query(`SELECT name FROM customers`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var found []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return "", err
		}
		if n == name {
			return n, nil
		}
		if strings.EqualFold(n, name) {
			found = append(found, n)
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: %q", ErrUnknownCustomer, name)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: %q matches %q", ErrUnknownCustomer, name, found)
}
