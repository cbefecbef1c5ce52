package issuer

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
)

func cachedDB(t *testing.T) *sql.DB {
	t.Helper()
	db := sql.OpenDB(sqliteConnector{dsn: "file:" + filepath.Join(t.TempDir(), "c.db") + "?_txlock=immediate", d: &sqlite.Driver{}})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')`); err != nil {
		t.Fatal(err)
	}
	return db
}

// A statement run again while its own rows are still open (inside one
// transaction, on one connection) gets its own compiled copy: both give
// their full results.
func TestStmtCacheNestedSameStatement(t *testing.T) {
	db := cachedDB(t)
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT k, v FROM t WHERE k >= ? ORDER BY k`
	outer, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var k int
		var v string
		outer.Scan(&k, &v)
		inner, err := tx.Query(q, k)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		inner.Close()
		got = append(got, v+string(rune('0'+n)))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if want := []string{"a3", "b2", "c1"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// A statement that failed (a constraint) runs again correctly; a cached
// statement sees a schema change; the cache holds one compiled statement
// per text (DDL too: one SQL text, one entry).
func TestStmtCacheReuse(t *testing.T) {
	db := cachedDB(t)
	const ins = `INSERT INTO t (k, v) VALUES (?, ?)`
	if _, err := db.Exec(ins, 4, "a"); err == nil {
		t.Fatal("duplicate v accepted")
	}
	if _, err := db.Exec(ins, 4, "d"); err != nil {
		t.Fatalf("after a failure: %v", err)
	}
	var n int
	const count = `SELECT COUNT(*) FROM t WHERE v <> ?`
	if err := db.QueryRow(count, "zzz").Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d %v", n, err)
	}
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN w INTEGER NOT NULL DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(count, "a").Scan(&n); err != nil || n != 3 {
		t.Fatalf("after a schema change: %d %v", n, err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Raw(func(dc any) error {
		c := dc.(*stmtCache)
		if len(c.stmts) != 3 || c.stmts[ins] == nil || c.stmts[count] == nil || c.stmts[count].busy {
			t.Errorf("cache %v", c.stmts)
		}
		return nil
	})
}
