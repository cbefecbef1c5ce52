package pgtest

import (
	"context"
	"database/sql"
	"os"
	"testing"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestRestart: a database survives the server's restart, and connections
// made before it fail while new ones work.
func TestRestart(t *testing.T) {
	s := Need(t)
	dsn := s.NewDatabase(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE x (v BIGINT); INSERT INTO x VALUES (42)`); err != nil {
		t.Fatal(err)
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	var v int64
	// database/sql retries a broken pooled connection with a new one.
	if err := db.QueryRowContext(context.Background(), `SELECT v FROM x`).Scan(&v); err != nil || v != 42 {
		t.Fatalf("after restart: %d, %v", v, err)
	}
}
