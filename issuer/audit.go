package issuer

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// The audit log is the ledger's events table made tamper-evident: each row
// carries the hash of the row before it and a hash over its own content and
// that link, and the ledger keeps the newest row's hash and the row count.
// An edited, deleted or reordered row no longer fits the chain, and
// VerifyAudit names it. Someone able to rewrite the whole database can also
// rewrite the chain: record the head that `seatkey audit` prints somewhere
// else (a ticket, a log) to catch that too.

// ErrAuditBroken is returned (as an *AuditError) when the chain does not hold.
var ErrAuditBroken = errors.New("audit log does not verify")

// AuditError names the first row where the audit chain breaks.
type AuditError struct {
	Row     int64  // events.id, 0 when the problem is the head
	Problem string // what is wrong, in words
}

func (e *AuditError) Error() string {
	if e.Row == 0 {
		return fmt.Sprintf("%v: %s", ErrAuditBroken, e.Problem)
	}
	return fmt.Sprintf("%v: row %d: %s", ErrAuditBroken, e.Row, e.Problem)
}

func (e *AuditError) Unwrap() error { return ErrAuditBroken }

// auditMigration adds the chain to the events table.
const auditMigration = `ALTER TABLE events ADD COLUMN prev_hash BLOB;
	ALTER TABLE events ADD COLUMN hash BLOB;
	CREATE TABLE audit_head (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		last_id INTEGER NOT NULL,
		hash BLOB NOT NULL,
		count INTEGER NOT NULL
	);`

// auditBoundaryMigration records where the chain starts: rows from there on
// must be sealed, so un-hashing rows (and deleting the head) is noticed, not
// taken for events from before the audit log.
const auditBoundaryMigration = `CREATE TABLE audit_boundary (
		id INTEGER PRIMARY KEY CHECK (id = 1),
		sealed_from INTEGER NOT NULL
	);
	INSERT INTO audit_boundary (id, sealed_from)
		SELECT 1, COALESCE((SELECT MIN(id) FROM events WHERE hash IS NOT NULL), (SELECT COALESCE(MAX(id), 0) + 1 FROM events));`

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`
	Kind     string    `json:"kind"`
	Customer int64     `json:"customer_id,omitempty"`
	License  []byte    `json:"license,omitempty"`
	Device   []byte    `json:"device,omitempty"`
	Detail   string    `json:"detail"`
	Hash     []byte    `json:"hash"`
	prev     []byte
}

// entryHash is SHA-256 over a domain string, the previous hash and every
// field, each length-prefixed so that no two entries encode alike.
func entryHash(prev []byte, e *AuditEntry) []byte {
	var b []byte
	b = append(b, "seatkey audit v1\x00"...)
	b = append(b, prev...)
	b = binary.BigEndian.AppendUint64(b, uint64(e.ID))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.Unix()))
	for _, f := range [][]byte{[]byte(e.Actor), []byte(e.Kind), binary.BigEndian.AppendUint64(nil, uint64(e.Customer)), e.License, e.Device, []byte(e.Detail)} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	h := sha256.Sum256(b)
	return h[:]
}

var genesis = make([]byte, sha256.Size)

// appendEvent writes one event as the next link of the chain.
func (l *Ledger) appendEvent(tx *sql.Tx, kind string, customer int64, lic, dev []byte, detail string) error {
	prev := genesis
	var next int64
	var head []byte
	// The next id and the chain's head (NULL before the first entry) in one
	// statement: one round trip.
	if err := tx.QueryRow(`SELECT (SELECT COALESCE(MAX(id), 0) + 1 FROM events), h.hash
		FROM (SELECT 1 AS one) AS x LEFT JOIN audit_head h ON h.id = 1`).Scan(&next, &head); err != nil {
		return err
	}
	if head != nil {
		prev = head
	}
	e := &AuditEntry{ID: next, At: l.now(), Actor: l.Actor, Kind: kind, Customer: customer, License: lic, Device: dev, Detail: detail}
	h := entryHash(prev, e)
	if _, err := tx.Exec(`INSERT INTO events (id, at, actor, kind, customer_id, license_id, device_id, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.At.Unix(), e.Actor, kind, customer, lic, dev, detail, prev, h); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO audit_head (id, last_id, hash, count) VALUES (1, ?, ?, 1)
		ON CONFLICT (id) DO UPDATE SET last_id = excluded.last_id, hash = excluded.hash, count = audit_head.count + 1`, e.ID, h)
	return err
}

// Audit calls fn with every audit entry, oldest first.
func (l *Ledger) Audit(fn func(*AuditEntry) error) error { return l.audit(math.MaxInt64, fn) }

// audit walks the entries up to row last.
func (l *Ledger) audit(last int64, fn func(*AuditEntry) error) error {
	rows, err := l.db.Query(`SELECT id, at, actor, kind, COALESCE(customer_id, 0), license_id, device_id, detail, prev_hash, hash FROM events WHERE id <= ? ORDER BY id`, last)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Kind, &e.Customer, &e.License, &e.Device, &e.Detail, &e.prev, &e.Hash); err != nil {
			return err
		}
		e.At = time.Unix(at, 0).UTC()
		if err := fn(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AuditHead is the newest link of the chain: record it elsewhere to detect
// a rewrite of the whole log.
type AuditHead struct {
	Entries int64  `json:"entries"`
	LastID  int64  `json:"last_id"`
	Hash    []byte `json:"hash"`
}

// VerifyAudit walks the whole chain and returns its head, or an *AuditError
// naming the first row that was edited, deleted, inserted or reordered.
// Events written before the ledger had an audit log (no hash) may only come
// first; they are counted in Unsealed.
func (l *Ledger) VerifyAudit() (head AuditHead, unsealed int64, err error) {
	prev := genesis
	var last int64
	var n int64
	var sealedFrom int64
	if err := l.db.QueryRow(`SELECT sealed_from FROM audit_boundary WHERE id = 1`).Scan(&sealedFrom); err != nil {
		return AuditHead{}, 0, &AuditError{Problem: "the record of where the chain starts is missing: " + err.Error()}
	}
	// The head first, then the rows up to it: a writer commits its rows and
	// the head together, so rows committed after the head was read are not
	// taken for rows the head does not know of (found in review: a false
	// alarm while a server writes).
	var h AuditHead
	qerr := l.db.QueryRow(`SELECT last_id, hash, count FROM audit_head WHERE id = 1`).Scan(&h.LastID, &h.Hash, &h.Entries)
	noHead := errors.Is(qerr, sql.ErrNoRows)
	if qerr != nil && !noHead {
		return AuditHead{}, 0, qerr
	}
	upTo := h.LastID
	if noHead {
		upTo = math.MaxInt64 // every row must then be unsealed
	}
	err = l.audit(upTo, func(e *AuditEntry) error {
		if e.Hash == nil {
			if n > 0 || e.ID >= sealedFrom {
				return &AuditError{Row: e.ID, Problem: "has no hash where the chain must be sealed: inserted or unsealed by hand"}
			}
			unsealed++
			last = e.ID
			return nil
		}
		switch {
		case !bytes.Equal(e.prev, prev):
			return &AuditError{Row: e.ID, Problem: "does not follow the row before it: a row was deleted, inserted or reordered"}
		case !bytes.Equal(entryHash(prev, e), e.Hash):
			return &AuditError{Row: e.ID, Problem: "its content was edited after it was written"}
		case e.ID <= last:
			return &AuditError{Row: e.ID, Problem: "out of order"}
		}
		prev, last = e.Hash, e.ID
		n++
		return nil
	})
	if err != nil {
		return AuditHead{}, 0, err
	}
	if !noHead {
		// Rows past the head: a writer moves the head in the commit that
		// adds rows, so a row the head still does not cover once read again
		// was put there by hand.
		var beyond sql.NullInt64
		if err := l.db.QueryRow(`SELECT MIN(id) FROM events WHERE id > ?`, h.LastID).Scan(&beyond); err != nil {
			return AuditHead{}, 0, err
		}
		var now int64
		if err := l.db.QueryRow(`SELECT last_id FROM audit_head WHERE id = 1`).Scan(&now); err != nil {
			return AuditHead{}, 0, err
		}
		if beyond.Valid && now < beyond.Int64 {
			return AuditHead{}, 0, &AuditError{Row: beyond.Int64, Problem: "is past the head, which no writer moved: inserted by hand"}
		}
	}
	switch {
	case noHead:
		if n > 0 {
			return AuditHead{}, 0, &AuditError{Problem: "the head is missing"}
		}
		return AuditHead{Hash: genesis}, unsealed, nil
	case h.Entries != n || h.LastID != last || !bytes.Equal(h.Hash, prev):
		return AuditHead{}, 0, &AuditError{Problem: fmt.Sprintf("the head says %d entries ending at row %d, the log has %d ending at row %d: the newest rows were deleted", h.Entries, h.LastID, n, last)}
	}
	return h, unsealed, nil
}
