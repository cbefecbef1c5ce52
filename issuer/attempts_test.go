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

// TestCountAttemptRefusalsDoNotWrite: attempts over the limit in a live
// window are refused by a read; the counter stays at the limit (found in
// review: each refused attempt was a write transaction).
func TestCountAttemptRefusalsDoNotWrite(t *testing.T) {
	l, _ := newLedger(t)
	for i := 0; i < 100; i++ {
		ok, err := l.CountAttempt("ip:203.0.113.9", 20, 15*time.Minute, ledgerNow)
		if err != nil || ok != (i < 20) {
			t.Fatalf("attempt %d: %v %v", i+1, ok, err)
		}
	}
	var n int
	if err := l.db.QueryRow(`SELECT n FROM rate_limits`).Scan(&n); err != nil || n != 20 {
		t.Fatalf("counter %d (%v): refused attempts wrote", n, err)
	}
}

// TestCountAttemptClockBack: a window made by a clock that was ahead (or by
// an instance whose clock is) does not lock anyone out once the clock is
// right (found in review).
func TestCountAttemptClockBack(t *testing.T) {
	l, _ := newLedger(t)
	ahead := ledgerNow.Add(24 * time.Hour)
	for i := 0; i < 6; i++ {
		l.CountAttempt("op:admin", 5, 15*time.Minute, ahead)
	}
	if ok, err := l.CountAttempt("op:admin", 5, 15*time.Minute, ledgerNow.Add(20*time.Minute)); !ok || err != nil {
		t.Fatalf("after the clock stepped back: %v %v", ok, err)
	}
	for i := 0; i < 4; i++ { // the new window counts from here
		l.CountAttempt("op:admin", 5, 15*time.Minute, ledgerNow.Add(21*time.Minute))
	}
	if ok, _ := l.CountAttempt("op:admin", 5, 15*time.Minute, ledgerNow.Add(22*time.Minute)); ok {
		t.Fatal("the sixth attempt of the new window was allowed")
	}
}
