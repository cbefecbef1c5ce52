package issuer

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
)

// benchLedgerName names the cached benchmark ledger of n devices after its
// size and the schema it was built with (the migration count and a digest of
// their text), so a schema change never benchmarks against a stale database.
func benchLedgerName(n int) string {
	h := sha256.Sum256([]byte(strings.Join(migrations, "\x00")))
	return fmt.Sprintf("seatkey-bench-%d-schema%d-%x.db", n, len(migrations), h[:4])
}

// A migration added or edited changes the cached ledger's name.
func TestBenchLedgerNameFollowsSchema(t *testing.T) {
	before := benchLedgerName(1000)
	if before == benchLedgerName(1001) {
		t.Fatal("size not in the name")
	}
	saved := migrations
	defer func() { migrations = saved }()
	migrations = append(append([]string(nil), saved...), "CREATE TABLE bench_probe (x INTEGER)")
	if benchLedgerName(1000) == before {
		t.Fatal("a new migration kept the name")
	}
	edited := append([]string(nil), saved...)
	edited[len(edited)-1] += " "
	migrations = edited
	if benchLedgerName(1000) == before {
		t.Fatal("an edited migration kept the name")
	}
}
