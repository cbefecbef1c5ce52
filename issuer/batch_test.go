package issuer

import (
	"errors"
	"fmt"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// A batch gives the same answers and leaves the same ledger as the same
// requests activated one by one: seats, same device, replay, refusals and a
// suspension in the middle that later requests of the customer see.
func TestActivateBatchIsActivateInOrder(t *testing.T) {
	k := testIssuerKey(t)
	a := mintFor(t, k, "Alpha", 3, license.Subscription, 0)
	b := mintFor(t, k, "Bravo", 5, license.Subscription, 0)
	replay := requestFor(t, a, syntheticMachine(2), "m2", false)
	batch := [][]byte{
		requestFor(t, a, syntheticMachine(1), "m1", false),
		replay,
		requestFor(t, a, syntheticMachine(1), "m1 again", false),
		replay,
		[]byte("not a request"),
		requestFor(t, a, syntheticMachine(3), "m3", false),
		requestFor(t, a, syntheticMachine(4), "m4", false), // no seat left
		requestFor(t, b, syntheticMachine(9), "b9 back", false),
		requestFor(t, b, syntheticMachine(10), "b10", false), // Bravo is suspended by then
		requestFor(t, a, syntheticMachine(5), "m5", false),
	}
	prepare := func() *Ledger {
		l, _ := newLedger(t)
		l.RecommissionLimit = 0
		r, err := l.Activate(k, requestFor(t, b, syntheticMachine(9), "b9", false))
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Decommission(r.Device); err != nil {
			t.Fatal(err)
		}
		return l
	}
	describe := func(r *Result, err error) string {
		for _, e := range []error{ErrSeatsExhausted, ErrSuspended, ErrRequestRefused} {
			if errors.Is(err, e) {
				return "error: " + e.Error()
			}
		}
		if err != nil {
			return "unexpected: " + err.Error()
		}
		return fmt.Sprintf("%s %q", r.Outcome, r.Label)
	}
	seq, bat := prepare(), prepare()
	var want []string
	for _, req := range batch {
		want = append(want, describe(seq.Activate(k, req)))
	}
	t.Logf("one by one: %q", want)
	results, errs := bat.ActivateBatch(k, batch)
	for i := range batch {
		if (results[i] == nil) == (errs[i] == nil) {
			t.Fatalf("request %d: result %v and error %v", i, results[i], errs[i])
		}
		if got := describe(results[i], errs[i]); got != want[i] {
			t.Errorf("request %d: batch %s, one by one %s", i, got, want[i])
		}
	}
	for _, lic := range [][]byte{a, b} {
		if s, w := seatsUsed(t, bat, lic), seatsUsed(t, seq, lic); s != w {
			t.Errorf("seats used: batch %d, one by one %d", s, w)
		}
	}
	count := func(l *Ledger, q string) (n int) {
		if err := l.db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, q := range []string{`SELECT COUNT(*) FROM devices`, `SELECT COUNT(*) FROM activations`, `SELECT COUNT(*) FROM customers WHERE suspended = 1`,
		`SELECT COUNT(*) FROM notifications`, `SELECT COUNT(*) FROM events`, `SELECT COUNT(*) FROM device_digests`} {
		if s, w := count(bat, q), count(seq, q); s != w {
			t.Errorf("%s: batch %d, one by one %d", q, s, w)
		}
	}
}

// A batch of check-ins: each is answered as CheckIn would answer it alone;
// a refused one changes nothing but a suspected duplicate's flag, which
// stays while the batch's other check-ins are recorded.
func TestCheckInBatch(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	lic := mintFor(t, k, "Alpha", 5, license.Subscription, 0)
	var acts [][]byte
	for i := 1; i <= 3; i++ {
		r, err := l.Activate(k, requestFor(t, lic, syntheticMachine(i), fmt.Sprintf("m%d", i), false))
		if err != nil {
			t.Fatal(err)
		}
		acts = append(acts, r.Token)
		if i == 3 {
			if err := l.Decommission(r.Device); err != nil {
				t.Fatal(err)
			}
		}
	}
	fp := func(n int) *fingerprint.Fingerprint { return syntheticMachine(n).Digest(product) }
	reqs := []CheckInRequest{
		{acts[0], fp(1)},
		{acts[1], fp(7)}, // a copy on machine 7
		{acts[2], fp(3)}, // decommissioned
		{[]byte("junk"), fp(1)},
		{acts[0], fp(1)},
	}
	res, errs := l.CheckInBatch(k, reqs, 0)
	if errs[0] != nil || res[0].CheckIns != 1 || errs[4] != nil || res[4].CheckIns != 2 {
		t.Fatalf("genuine check-ins: %v %v", errs[0], errs[4])
	}
	// A decommissioned device's activations are revoked (SPEC 10.4 rule 6),
	// so its check-in is refused for that.
	if !errors.Is(errs[1], verifier.ErrDevice) || !errors.Is(errs[2], verifier.ErrRevoked) || !errors.Is(errs[3], ErrBadActivation) {
		t.Fatalf("refusals: %v / %v / %v", errs[1], errs[2], errs[3])
	}
	seen := map[string]bool{}
	l.EachDeviceSeen(Filter{}, func(d *Device, s Seen) error {
		seen[d.Label] = s.SuspectedDuplicate
		return nil
	})
	if !seen["m2"] || seen["m1"] || seen["m3"] {
		t.Fatalf("flags: %v", seen)
	}
	var events int
	l.db.QueryRow(`SELECT COUNT(*) FROM events WHERE kind = 'suspected-duplicate'`).Scan(&events)
	if events != 1 {
		t.Fatalf("%d suspected-duplicate events", events)
	}
}
