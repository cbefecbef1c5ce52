package issuer

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Copying a ledger: a vendor who outgrows one issuer machine moves its
// SQLite ledger into PostgreSQL (or back, or from one database to another)
// with every row as it is: the same IDs, the same audit chain. The copy runs
// inside one transaction on each side, each holding its ledger's write
// lock, so neither changes while it runs; the target must be a new ledger.

// ErrCopyMismatch: the copy does not equal its source.
var ErrCopyMismatch = errors.New("the copied ledger differs from its source")

// CopyReport is what CopyLedger copied.
type CopyReport struct {
	Tables map[string]int64 `json:"tables"` // rows per table
	Audit  AuditHead        `json:"audit"`  // the audit head, the same on both sides
}

// copyChunk bounds the rows of one INSERT, under both stores' limits on
// query parameters (SQLite 32766, PostgreSQL 65535).
const copyChunk = 20000

// CopyLedger copies every row of src into dst, which must be a ledger just
// made by CreateLedger (anything in it is replaced), at the same schema
// version. It then checks the copy: the same rows in every table and an
// audit chain that verifies to the same head.
func CopyLedger(src, dst *Ledger) (*CopyReport, error) {
	ctx := context.Background()
	sv, err := schemaVersion(src.db)
	if err != nil {
		return nil, err
	}
	dv, err := schemaVersion(dst.db)
	if err != nil {
		return nil, err
	}
	if sv != dv {
		return nil, fmt.Errorf("ledger copy: the source is at schema version %d, the target at %d", sv, dv)
	}
	stx, err := src.db.BeginTx(ctx, nil) // the source's write lock: nobody writes while it is read
	if err != nil {
		return nil, err
	}
	defer stx.Rollback()
	tables, err := src.tables(stx)
	if err != nil {
		return nil, err
	}
	var head AuditHead // the source's, read under its lock
	if err := stx.QueryRow(`SELECT last_id, hash, count FROM audit_head WHERE id = 1`).Scan(&head.LastID, &head.Hash, &head.Entries); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	rep := &CopyReport{Tables: map[string]int64{}}
	err = dst.tx(func(dtx *sql.Tx) error {
		var n int
		if err := dtx.QueryRow(`SELECT COUNT(*) FROM events`).Scan(&n); err != nil || n > 0 {
			return errors.Join(err, fmt.Errorf("ledger copy: the target already holds a ledger's records (%d events): copy into a new one", n))
		}
		for _, t := range slices.Backward(tables) { // rows a new ledger's migrations made
			if _, err := dtx.Exec(`DELETE FROM ` + t); err != nil {
				return fmt.Errorf("ledger copy: %s: %w", t, err)
			}
		}
		for _, t := range tables {
			n, err := copyTable(stx, dtx, t)
			if err != nil {
				return fmt.Errorf("ledger copy: %s: %w", t, err)
			}
			rep.Tables[t] = n
		}
		if dst.pg {
			return resetIdentities(dtx)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := stx.Commit(); err != nil {
		return nil, err
	}
	for _, t := range tables {
		var d int64
		if err := dst.db.QueryRow(`SELECT COUNT(*) FROM ` + t).Scan(&d); err != nil {
			return nil, err
		}
		if d != rep.Tables[t] {
			return nil, fmt.Errorf("%w: %s: %d rows read, %d in the copy", ErrCopyMismatch, t, rep.Tables[t], d)
		}
	}
	dh, _, err := dst.VerifyAudit()
	if err != nil {
		return nil, fmt.Errorf("%w: its audit log: %w", ErrCopyMismatch, err)
	}
	if head.Entries != dh.Entries || head.LastID != dh.LastID || (head.Hash != nil && !bytes.Equal(head.Hash, dh.Hash)) {
		return nil, fmt.Errorf("%w: audit heads %+v and %+v", ErrCopyMismatch, head, dh)
	}
	rep.Audit = dh
	return rep, nil
}

func schemaVersion(db *sql.DB) (int, error) {
	var v int
	err := db.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// tables lists the ledger's tables in the order they were created, which
// is an order their references allow (schema_migrations aside: both sides
// have their own).
func (l *Ledger) tables(tx *sql.Tx) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid`
	if l.pg {
		q = `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.oid`
	}
	rows, err := tx.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		if t != "schema_migrations" {
			out = append(out, t)
		}
	}
	return out, rows.Err()
}

// copyTable copies every row of table t, in chunks of multi-row INSERTs.
func copyTable(stx, dtx *sql.Tx, t string) (int64, error) {
	cols, err := columns(stx, t)
	if err != nil {
		return 0, err
	}
	dcols, err := columns(dtx, t)
	if err != nil {
		return 0, err
	}
	slices.Sort(dcols)
	if sorted := slices.Sorted(slices.Values(cols)); !slices.Equal(sorted, dcols) {
		return 0, fmt.Errorf("columns differ: %v and %v", sorted, dcols)
	}
	list := strings.Join(cols, ", ")
	rows, err := stx.Query(`SELECT ` + list + ` FROM ` + t + ` ORDER BY 1`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	perChunk := max(1, copyChunk/len(cols))
	placeholder := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var args []any
	var n, pending int64
	flush := func() error {
		if pending == 0 {
			return nil
		}
		q := `INSERT INTO ` + t + ` (` + list + `) VALUES ` + strings.TrimSuffix(strings.Repeat(placeholder+", ", int(pending)), ", ")
		_, err := dtx.Exec(q, args...)
		args, pending = args[:0], 0
		return err
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		args = append(args, vals...)
		pending++
		n++
		if pending == int64(perChunk) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, flush()
}

// columns names table t's columns, as a query of it reports them.
func columns(tx *sql.Tx, t string) ([]string, error) {
	rows, err := tx.Query(`SELECT * FROM ` + t + ` WHERE 1 = 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// resetIdentities moves each PostgreSQL identity column's sequence past the
// copied rows, so the next customer, notification or task gets a new id.
func resetIdentities(tx *sql.Tx) error {
	rows, err := tx.Query(`SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND is_identity = 'YES'`)
	if err != nil {
		return err
	}
	var ids [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, [2]string{t, c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		t, c := id[0], id[1]
		if _, err := tx.Exec(`SELECT setval(pg_get_serial_sequence('` + t + `', '` + c + `'), COALESCE(MAX(` + c + `), 0) + 1, false) FROM ` + t); err != nil {
			return fmt.Errorf("%s.%s: %w", t, c, err)
		}
	}
	return nil
}
