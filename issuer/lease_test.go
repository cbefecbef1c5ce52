package issuer

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

const week = 7 * 24 * time.Hour

// leaseLedger records a 2-seat subscription (ending a year after ledgerNow)
// with a one-week lease, on a ledger whose clock the test moves.
func leaseLedger(t *testing.T, seats int, lease time.Duration) (l *Ledger, k *Key, tok []byte, now *time.Time) {
	t.Helper()
	l, _ = newLedger(t)
	clock := ledgerNow
	now = &clock
	l.Now = func() time.Time { return *now }
	k = testIssuerKey(t)
	tok = mintFor(t, k, "Globex", seats, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{Contact: "it@globex.example", Lease: lease}); err != nil {
		t.Fatal(err)
	}
	return l, k, tok, now
}

func refreshes(t *testing.T, l *Ledger, act activation.ID) (n int) {
	t.Helper()
	if err := l.db.QueryRow(`SELECT refreshes FROM activations WHERE id = ?`, act[:]).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A leased activation expires a lease after it is signed, offline too; a
// check-in returns the same activation signed again until now + lease, and
// the refreshed file keeps the machine verifying after the first one ended.
func TestLeaseRefreshOnCheckIn(t *testing.T) {
	l, k, tok, now := leaseLedger(t, 2, week)
	m := syntheticMachine(1)
	req := requestFor(t, tok, m, "m1", false)
	r, err := l.Activate(k, req)
	if err != nil {
		t.Fatal(err)
	}
	first := activationClaims(t, r.Token)
	if !first.Expires.Equal(ledgerNow.Add(week)) {
		t.Fatalf("leased activation expires %v, want %v", first.Expires, ledgerNow.Add(week))
	}
	if err := verifyAt(t, k, tok, r.Token, m, ledgerNow.Add(week-time.Hour)); err != nil {
		t.Fatalf("within the lease: %v", err)
	}
	if err := verifyAt(t, k, tok, r.Token, m, ledgerNow.Add(week+time.Hour)); !errors.Is(err, verifier.ErrActivationExpired) {
		t.Fatalf("after the lease without a check-in: %v", err)
	}
	*now = ledgerNow.Add(5 * 24 * time.Hour)
	ci, err := l.CheckIn(k, r.Token, m.Digest(product), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ci.Token == nil || ci.Expires == nil || !ci.Expires.Equal(now.Add(week)) {
		t.Fatalf("check-in of a leased activation: token %v, expires %v", ci.Token != nil, ci.Expires)
	}
	got := activationClaims(t, ci.Token)
	want := *first
	want.IssuedAt, want.Expires = *now, now.Add(week)
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("refreshed claims\n got %+v\nwant %+v (only iat and exp change)", *got, want)
	}
	if err := verifyAt(t, k, tok, ci.Token, m, ledgerNow.Add(week+time.Hour)); err != nil {
		t.Fatalf("the refreshed activation after the first lease: %v", err)
	}
	if err := verifyAt(t, k, tok, ci.Token, m, now.Add(week+time.Hour)); !errors.Is(err, verifier.ErrActivationExpired) {
		t.Fatalf("the refreshed activation after its own lease: %v", err)
	}
	// The refreshed token checks in (and is refreshed) in turn; the ledger
	// keeps the newest, which a replay of the request returns.
	*now = now.Add(24 * time.Hour)
	ci2, err := l.CheckIn(k, ci.Token, m.Digest(product), 0)
	if err != nil || !ci2.Expires.Equal(now.Add(week)) {
		t.Fatalf("second refresh: %+v %v", ci2, err)
	}
	if n := refreshes(t, l, r.Activation); n != 2 {
		t.Fatalf("%d refreshes recorded", n)
	}
	if rep, err := l.Activate(k, req); err != nil || rep.Outcome != Replayed || string(rep.Token) != string(ci2.Token) {
		t.Fatalf("replaying the request: %+v %v; want the newest refresh", rep, err)
	}
}

// Without a lease a check-in answers as before: no token.
func TestNoLeaseNoToken(t *testing.T) {
	l, k, tok, _ := leaseLedger(t, 2, 0)
	m := syntheticMachine(1)
	r, err := l.Activate(k, requestFor(t, tok, m, "m1", false))
	if err != nil {
		t.Fatal(err)
	}
	if c := activationClaims(t, r.Token); !c.Expires.Equal(ledgerNow.AddDate(1, 0, 0)) {
		t.Fatalf("unleased subscription activation expires %v", c.Expires)
	}
	ci, err := l.CheckIn(k, r.Token, m.Digest(product), 0)
	if err != nil || ci.Token != nil || ci.Expires != nil || refreshes(t, l, r.Activation) != 0 {
		t.Fatalf("check-in without a lease: %+v %v", ci, err)
	}
}

// A lease never outlives what caps an activation anyway: the license's end
// and a migrating device's grace, at activation and at every refresh.
func TestLeaseCapped(t *testing.T) {
	// A license ending in three days with a one-week lease.
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	c := license.Claims{Vendor: "Acme", Customer: "Short", Product: product, Edition: "pro", Seats: 1, Kind: license.Subscription,
		IssuedAt: ledgerNow.Add(-time.Hour), Expires: ledgerNow.Add(72 * time.Hour)}
	short, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.RecordLicense(k, short, LicensePolicy{Lease: week}); err != nil {
		t.Fatal(err)
	}
	m := syntheticMachine(1)
	r, err := l.Activate(k, requestFor(t, short, m, "m", false))
	if err != nil {
		t.Fatal(err)
	}
	if got := activationClaims(t, r.Token).Expires; !got.Equal(c.Expires) {
		t.Fatalf("activation of a license ending before the lease: expires %v, want %v", got, c.Expires)
	}
	ci, err := l.CheckIn(k, r.Token, m.Digest(product), 0)
	if err != nil || !ci.Expires.Equal(c.Expires) || !activationClaims(t, ci.Token).Expires.Equal(c.Expires) {
		t.Fatalf("refresh of a license ending before the lease: %+v %v", ci, err)
	}

	// A migration with a lease longer than the grace.
	l2, k2, tok, now := leaseLedger(t, 1, 60*24*time.Hour)
	if _, err := l2.Activate(k2, requestFor(t, tok, syntheticMachine(1), "old", false)); err != nil {
		t.Fatal(err)
	}
	nm := syntheticMachine(2)
	mig, err := l2.Activate(k2, requestFor(t, tok, nm, "new", false))
	if err != nil || mig.MigrationUntil.IsZero() {
		t.Fatalf("migration: %+v %v", mig, err)
	}
	graceEnd := ledgerNow.Add(DefaultMigrationGrace)
	if got := activationClaims(t, mig.Token).Expires; !got.Equal(graceEnd) {
		t.Fatalf("migrating activation expires %v, want the grace end %v", got, graceEnd)
	}
	*now = ledgerNow.Add(20 * 24 * time.Hour)
	ci, err = l2.CheckIn(k2, mig.Token, nm.Digest(product), 0)
	if err != nil || !ci.Expires.Equal(graceEnd) {
		t.Fatalf("refresh of a migrating device: %+v %v", ci, err)
	}
}

// A hostile customer tries to keep a machine running with refreshes it is
// not entitled to. Every attempt is refused, gets no token, and leaves the
// stored activation as it was.
func TestLeaseRefreshAttacks(t *testing.T) {
	type rig struct {
		l   *Ledger
		k   *Key
		tok []byte
		now *time.Time
		m   *fingerprint.Profile
		r   *Result
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, x *rig) []byte // returns the token presented
		want  error
	}{
		{"revoked activation", func(t *testing.T, x *rig) []byte {
			if _, err := x.l.Revoke(x.r.Activation.String(), license.ReasonAbuse, time.Time{}); err != nil {
				t.Fatal(err)
			}
			return x.r.Token
		}, verifier.ErrRevoked},
		{"refreshed token of a revoked activation", func(t *testing.T, x *rig) []byte {
			ci, err := x.l.CheckIn(x.k, x.r.Token, x.m.Digest(product), 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := x.l.Revoke(x.r.Activation.String(), license.ReasonLeaked, time.Time{}); err != nil {
				t.Fatal(err)
			}
			return ci.Token
		}, verifier.ErrRevoked},
		{"decommissioned device", func(t *testing.T, x *rig) []byte {
			if err := x.l.Decommission(x.r.Device); err != nil {
				t.Fatal(err)
			}
			return x.r.Token
		}, verifier.ErrRevoked},
		{"decommissioned device, superseded revocation lifted by hand", func(t *testing.T, x *rig) []byte {
			if err := x.l.Decommission(x.r.Device); err != nil {
				t.Fatal(err)
			}
			if err := x.l.Unrevoke(x.r.Activation.String()); err != nil {
				t.Fatal(err)
			}
			return x.r.Token
		}, ErrNotActive},
		{"license revoked (disabled)", func(t *testing.T, x *rig) []byte {
			lt, _ := license.Inspect(x.tok)
			if _, err := x.l.Revoke(lt.Claims.ID.String(), license.ReasonAbuse, time.Time{}); err != nil {
				t.Fatal(err)
			}
			return x.r.Token
		}, verifier.ErrRevoked},
		{"license expired", func(t *testing.T, x *rig) []byte {
			*x.now = ledgerNow.AddDate(1, 0, 0).Add(time.Hour)
			return x.r.Token
		}, verifier.ErrExpired},
		{"lease already over", func(t *testing.T, x *rig) []byte {
			*x.now = ledgerNow.Add(week + time.Hour)
			return x.r.Token
		}, verifier.ErrActivationExpired},
		{"superseded activation (the device activated again)", func(t *testing.T, x *rig) []byte {
			if _, err := x.l.Activate(x.k, requestFor(t, x.tok, x.m, "again", false)); err != nil {
				t.Fatal(err)
			}
			return x.r.Token
		}, verifier.ErrRevoked},
		{"superseded activation, revocation lifted by hand", func(t *testing.T, x *rig) []byte {
			*x.now = x.now.Add(time.Minute)
			if _, err := x.l.Activate(x.k, requestFor(t, x.tok, x.m, "again", false)); err != nil {
				t.Fatal(err)
			}
			if err := x.l.Unrevoke(x.r.Activation.String()); err != nil {
				t.Fatal(err)
			}
			return x.r.Token
		}, ErrSupersededActivation},
		{"server's signing key retired", func(t *testing.T, x *rig) []byte {
			if _, err := x.l.Revoke(x.k.ID().String(), license.ReasonRetired, ledgerNow.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			*x.now = ledgerNow.Add(2 * time.Hour)
			return x.r.Token
		}, ErrKeyRevoked},
		{"another machine with a copy", func(t *testing.T, x *rig) []byte {
			x.m = syntheticMachine(7)
			return x.r.Token
		}, verifier.ErrDevice},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, k, tok, now := leaseLedger(t, 2, week)
			m := syntheticMachine(1)
			r, err := l.Activate(k, requestFor(t, tok, m, "m1", false))
			if err != nil {
				t.Fatal(err)
			}
			x := &rig{l: l, k: k, tok: tok, now: now, m: m, r: r}
			present := tc.setup(t, x)
			var stored []byte
			l.db.QueryRow(`SELECT token FROM activations WHERE id = ?`, r.Activation[:]).Scan(&stored)
			before := refreshes(t, l, r.Activation)
			ci, err := l.CheckIn(k, present, x.m.Digest(product), 0)
			if !errors.Is(err, tc.want) || ci != nil {
				t.Fatalf("got %+v, %v; want %v", ci, err, tc.want)
			}
			var after []byte
			l.db.QueryRow(`SELECT token FROM activations WHERE id = ?`, r.Activation[:]).Scan(&after)
			if refreshes(t, l, r.Activation) != before || string(after) != string(stored) {
				t.Fatal("a refused check-in refreshed the activation")
			}
		})
	}
}

// A migrating device is refreshed up to its grace end and never past it:
// within the verifier's clock skew after the grace its token still
// verifies, and the refresh is refused with ErrMigrationOver.
func TestLeaseMigratingDeviceBeyondGrace(t *testing.T) {
	l, k, tok, now := leaseLedger(t, 1, week)
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "old", false)); err != nil {
		t.Fatal(err)
	}
	nm := syntheticMachine(2)
	mig, err := l.Activate(k, requestFor(t, tok, nm, "new", false))
	if err != nil {
		t.Fatal(err)
	}
	graceEnd := ledgerNow.Add(DefaultMigrationGrace)
	cur := mig.Token
	for day := 6; day < 30; day += 6 { // checks in every six days through the grace
		*now = ledgerNow.Add(time.Duration(day) * 24 * time.Hour)
		ci, err := l.CheckIn(k, cur, nm.Digest(product), 0)
		if err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
		if ci.Expires.After(graceEnd) {
			t.Fatalf("day %d: refreshed past the grace: %v", day, ci.Expires)
		}
		cur = ci.Token
	}
	if got := activationClaims(t, cur).Expires; !got.Equal(graceEnd) {
		t.Fatalf("last refresh expires %v, want the grace end", got)
	}
	*now = graceEnd.Add(time.Minute) // inside the verifier's skew
	if _, err := l.CheckIn(k, cur, nm.Digest(product), 0); !errors.Is(err, ErrMigrationOver) || !errors.Is(err, ErrBadActivation) {
		t.Fatalf("refresh after the grace: %v", err)
	}
}

// A lease out of range is refused at minting; the transfer of a leased
// license keeps the lease.
func TestLeaseBounds(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	for _, d := range []time.Duration{-time.Hour, time.Millisecond, MaxLease + time.Hour} {
		tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
		if err := l.RecordLicense(k, tok, LicensePolicy{Lease: d}); !errors.Is(err, ErrLease) {
			t.Errorf("lease %v: %v", d, err)
		}
	}
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{Lease: week}); err != nil {
		t.Fatal(err)
	}
	lt, _ := license.Inspect(tok)
	re, err := l.Transfer(k, lt.Claims.ID, "Initech", "signed letter 2026-05-30")
	if err != nil {
		t.Fatal(err)
	}
	var lease int64
	l.db.QueryRow(`SELECT lease FROM licenses WHERE id = ?`, re.Claims.ID[:]).Scan(&lease)
	if lease != int64(week/time.Second) {
		t.Fatalf("transferred license's lease: %ds", lease)
	}
}

// TestLapsedLeaseNotRevived: a check-in minutes after the lease ended,
// within the clock skew the verifier allows, is refused (found in review:
// it was refreshed for a whole new lease).
func TestLapsedLeaseNotRevived(t *testing.T) {
	l, k, tok, now := leaseLedger(t, 2, time.Hour)
	m := syntheticMachine(1)
	r, err := l.Activate(k, requestFor(t, tok, m, "m1", false))
	if err != nil {
		t.Fatal(err)
	}
	*now = ledgerNow.Add(time.Hour + 4*time.Minute) // the lease ended 4 minutes ago
	if err := verifyAt(t, k, tok, r.Token, m, *now); err == nil {
		t.Logf("note: the client's verifier still accepts it too (same skew)")
	}
	ci, err := l.CheckIn(k, r.Token, m.Digest(product), 0)
	if !errors.Is(err, verifier.ErrActivationExpired) {
		exp := "<nil>"
		if ci != nil && ci.Expires != nil {
			exp = ci.Expires.String()
		}
		t.Fatalf("check-in 4m after the lease ended: err %v, refreshed until %s; want activation_expired", err, exp)
	}
}
