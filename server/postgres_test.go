package server

import (
	"os"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/internal/pgtest"
	"github.com/seatkey/seatkey/license"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSuiteOnPostgres runs this package's whole test suite again with every
// fixture's ledger in a real PostgreSQL database: every endpoint, refusal
// and authorization rule answers the same on both stores.
func TestSuiteOnPostgres(t *testing.T) { pgtest.RerunOnPostgres(t) }

// TestDatabaseDown: with the ledger's PostgreSQL server stopped, /healthz
// and device requests answer 503 unavailable with Retry-After (a balancer
// takes the instance out, clients retry), and once it is back, 200.
func TestDatabaseDown(t *testing.T) {
	pg := pgtest.Own(t)
	f := newFixtureAt(t, pg.NewDatabase(t))
	lic := f.mint("Globex", 2, license.Subscription, 0, false)
	if r := f.do("GET", "/healthz", "", "", nil); r.status != 200 {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	if err := pg.Halt(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*response{f.do("GET", "/healthz", "", "", nil), f.activate(request(t, lic, 1, false))} {
		if r.status != 503 || !strings.Contains(string(r.body), `"unavailable"`) || r.header.Get("Retry-After") != "1" {
			t.Fatalf("database down: %d %v %s", r.status, r.header, r.body)
		}
	}
	if err := pg.Resume(); err != nil {
		t.Fatal(err)
	}
	if r := f.do("GET", "/healthz", "", "", nil); r.status != 200 {
		t.Fatalf("healthz after the restart: %d %s", r.status, r.body)
	}
	f.activated(lic, 1)
}
