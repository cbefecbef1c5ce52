package issuer

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// auditedLedger runs a few operations of each kind and returns the ledger.
func auditedLedger(t *testing.T) *Ledger {
	t.Helper()
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 3, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{Contact: "it@globex.example"}); err != nil {
		t.Fatal(err)
	}
	var devs []Result
	for i := 1; i <= 3; i++ {
		r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(i), "host", false))
		if err != nil {
			t.Fatal(err)
		}
		devs = append(devs, *r)
	}
	if err := l.Decommission(devs[0].Device); err != nil {
		t.Fatal(err)
	}
	lt, _ := license.Inspect(tok)
	if _, err := l.Revoke(lt.Claims.ID.String(), license.ReasonRefunded, ledgerNow); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAuditChainHolds(t *testing.T) {
	l := auditedLedger(t)
	head, unsealed, err := l.VerifyAudit()
	if err != nil {
		t.Fatal(err)
	}
	if unsealed != 0 || head.Entries < 6 {
		t.Fatalf("head %+v, %d unsealed", head, unsealed)
	}
	var kinds []string
	l.Audit(func(e *AuditEntry) error { kinds = append(kinds, e.Kind); return nil })
	for _, want := range []string{"license-recorded", "activated", "decommissioned", "revoked"} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("no %q entry in %v", want, kinds)
		}
	}
}

// Each way of tampering with the log by hand is detected, and the error
// names the row.
func TestAuditTamperingDetected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sql     string
		row     int64
		problem string
	}{
		{"edited detail", `UPDATE events SET detail = 'nothing happened' WHERE id = 3`, 3, "edited"},
		{"edited actor", `UPDATE events SET actor = 'someone else' WHERE id = 2`, 2, "edited"},
		{"edited time", `UPDATE events SET at = at - 86400 WHERE id = 4`, 4, "edited"},
		{"deleted row", `DELETE FROM events WHERE id = 3`, 4, "deleted"},
		{"deleted newest rows", `DELETE FROM events WHERE id >= (SELECT MAX(id) FROM events) - 1`, 0, "newest rows were deleted"},
		{"reordered rows", `UPDATE events SET id = 9999 WHERE id = 2; UPDATE events SET id = 2 WHERE id = 3; UPDATE events SET id = 3 WHERE id = 9999`, 2, "reordered"},
		{"row inserted", `INSERT INTO events (id, at, actor, kind, detail, prev_hash, hash) SELECT 1000, at, actor, 'decommissioned', '', hash, hash FROM events WHERE id = (SELECT MAX(id) FROM events)`, 1000, "past the head"},
		{"unhashed row inserted", `INSERT INTO events (id, at, actor, kind, detail) VALUES (1000, 0, 'x', 'decommissioned', '')`, 1000, "past the head"},
		{"every row unsealed, edited, the head deleted", `UPDATE events SET hash = NULL, prev_hash = NULL, detail = 'nothing'; DELETE FROM audit_head`, 1, "unsealed by hand"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := auditedLedger(t)
			if _, err := l.db.Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			_, _, err := l.VerifyAudit()
			var ae *AuditError
			if !errors.As(err, &ae) || !errors.Is(err, ErrAuditBroken) {
				t.Fatalf("tampering not detected: %v", err)
			}
			if ae.Row != tc.row || !strings.Contains(ae.Problem, tc.problem) {
				t.Fatalf("got row %d %q, want row %d and %q", ae.Row, ae.Problem, tc.row, tc.problem)
			}
		})
	}
}

// The SPEC §12.5 vector, built byte by byte here rather than through
// entryHash, so that a change to the encoding cannot pass unnoticed.
func TestAuditHashVector(t *testing.T) {
	e := &AuditEntry{ID: 7, At: time.Unix(1780000000, 0), Actor: "cli:alice", Kind: "decommissioned", Customer: 3,
		License: bytes.Repeat([]byte{0x11}, 16), Device: bytes.Repeat([]byte{0x22}, 16), Detail: ""}
	prev := bytes.Repeat([]byte{0xab}, 32)
	var b []byte
	b = append(b, []byte("seatkey audit v1")...)
	b = append(b, 0)
	b = append(b, prev...)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 7)
	b = append(b, 0, 0, 0, 0, 0x6a, 0x18, 0xa5, 0x00) // 1780000000
	b = append(b, 0, 0, 0, 9)
	b = append(b, "cli:alice"...)
	b = append(b, 0, 0, 0, 14)
	b = append(b, "decommissioned"...)
	b = append(b, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 3)
	b = append(b, 0, 0, 0, 16)
	b = append(b, e.License...)
	b = append(b, 0, 0, 0, 16)
	b = append(b, e.Device...)
	b = append(b, 0, 0, 0, 0)
	want := sha256.Sum256(b)
	got := entryHash(prev, e)
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("entryHash %x, by hand %x", got, want)
	}
	if hex.EncodeToString(got) != auditVector {
		t.Fatalf("hash %x, SPEC says %s", got, auditVector)
	}
}

// auditVector is the hash SPEC.md §12.5 shows for the entry above.
const auditVector = "eb187bf5302e785ec9286e70e907672d38889d9bae69cb6150f911626dfdf09d"

// TestVerifyAuditWhileWriting: 'seatkey audit' on a ledger a server is
// writing to reports no tampering (found in review: rows committed between
// reading the rows and the head looked like deleted rows).
func TestVerifyAuditWhileWriting(t *testing.T) {
	l, _ := newLedger(t)
	if err := l.tx(func(tx *sql.Tx) error { return l.event(tx, "review", 0, nil, nil, "first") }); err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			if err := l.tx(func(tx *sql.Tx) error { return l.event(tx, "review", 0, nil, nil, "concurrent write") }); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	var falseAlarms, runs int
	var first error
	for time.Now().Before(deadline) && falseAlarms < 3 {
		runs++
		if _, _, err := l.VerifyAudit(); err != nil {
			falseAlarms++
			if first == nil {
				first = err
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if _, _, err := l.VerifyAudit(); err != nil {
		t.Fatalf("the log is really broken: %v", err)
	}
	if falseAlarms > 0 {
		t.Errorf("%d of %d VerifyAudit runs during writes reported tampering on an intact log; first: %v", falseAlarms, runs, first)
	}
}
