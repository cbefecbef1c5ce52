package issuer

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCountAttempt: a fixed window per key; windows that ended are
// forgotten, so a flood of keys leaves only the live windows behind; keys
// are stored hashed.
func TestCountAttempt(t *testing.T) {
	l, _ := newLedger(t)
	for i := 1; i <= 3; i++ {
		ok, err := l.CountAttempt("key:lic_secret", 2, time.Minute, ledgerNow)
		if err != nil || ok != (i <= 2) {
			t.Fatalf("attempt %d: %v %v", i, ok, err)
		}
	}
	for i := 0; i < 200; i++ {
		if ok, err := l.CountAttempt(fmt.Sprint("ip:", i), 2, time.Minute, ledgerNow.Add(30*time.Second)); !ok || err != nil {
			t.Fatalf("new key %d: %v %v", i, ok, err)
		}
	}
	if ok, _ := l.CountAttempt("key:lic_secret", 2, time.Minute, ledgerNow.Add(time.Minute)); !ok {
		t.Fatal("a new window: refused")
	}
	var rows int
	if err := l.db.QueryRow(`SELECT COUNT(*) FROM rate_limits`).Scan(&rows); err != nil || rows != 201 {
		t.Fatalf("%d rows, %v", rows, err)
	}
	if ok, _ := l.CountAttempt("ip:0", 2, time.Minute, ledgerNow.Add(2*time.Minute)); !ok {
		t.Fatal("refused after the window")
	}
	if err := l.db.QueryRow(`SELECT COUNT(*) FROM rate_limits`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("after every window ended: %d rows, want 1 (%v)", rows, err)
	}
	var k []byte
	l.db.QueryRow(`SELECT key FROM rate_limits`).Scan(&k)
	if len(k) != 32 || strings.Contains(string(k), "ip:0") {
		t.Fatalf("key stored as %q", k)
	}
}
