package server

import (
	"os"
	"testing"

	"github.com/seatkey/seatkey/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSuiteOnPostgres runs this package's whole test suite again with every
// fixture's ledger in a real PostgreSQL database: every endpoint, refusal
// and authorization rule answers the same on both stores.
func TestSuiteOnPostgres(t *testing.T) { pgtest.RerunOnPostgres(t) }
