package issuer

import (
	"errors"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// The seat decision at every boundary (SPEC 10.4 rule 5).
func TestDecideSeat(t *testing.T) {
	sub := func(used, fo int, overage bool) seatState {
		return seatState{Kind: license.Subscription, Seats: 5, Failover: 1, OverageAllowed: overage, Used: used, FailoversUsed: fo}
	}
	dep := func(used int) seatState { return seatState{Kind: license.PerDeployment, Seats: 2, Used: used} }
	// mig: all 5 seats used, overage denied, a grace, started of cap migrations this year.
	mig := func(started, capped int) seatState {
		s := sub(5, 0, false)
		s.MigrationGrace, s.MigrationCap, s.MigrationsStarted = time.Hour, capped, started
		return s
	}
	migration := seatDecision{TakesSeat: true, Migration: true}
	none := seatDecision{}
	seat := seatDecision{TakesSeat: true}
	over := seatDecision{TakesSeat: true, Overage: true}
	fail := seatDecision{TakesSeat: true, Failover: true}
	tests := []struct {
		name     string
		s        seatState
		o        Outcome
		failover bool
		want     seatDecision
		err      error
	}{
		{"seats-1 used: a seat", sub(4, 0, false), NewDevice, false, seat, nil},
		{"all seats used, overage denied", sub(5, 0, false), NewDevice, false, none, ErrSeatsExhausted},
		{"seats+1 used (after overage), overage denied", sub(6, 0, false), NewDevice, false, none, ErrSeatsExhausted},
		{"seats-1 used, overage allowed: a seat, not overage", sub(4, 0, true), NewDevice, false, seat, nil},
		{"all seats used, overage allowed", sub(5, 0, true), NewDevice, false, over, nil},
		{"seats+1 used, overage allowed", sub(6, 0, true), NewDevice, false, over, nil},
		{"recommission, all seats used, overage denied", sub(5, 0, false), Recommissioned, false, none, ErrSeatsExhausted},
		{"recommission, seats-1 used", sub(4, 0, false), Recommissioned, false, seat, nil},
		{"recommission, all seats used, overage allowed", sub(5, 0, true), Recommissioned, false, over, nil},
		{"same device with all seats used: nothing", sub(5, 1, false), SameDevice, false, none, nil},
		{"same device asking for failover: nothing", sub(5, 1, false), SameDevice, true, none, nil},
		{"failover, none used", sub(5, 0, false), NewDevice, true, fail, nil},
		{"failover exhausted", sub(0, 1, true), NewDevice, true, none, ErrFailoverExhausted},
		{"failover exhausted on a recommission", sub(0, 1, true), Recommissioned, true, none, ErrFailoverExhausted},
		{"per-deployment, seats-1 ever", dep(1), NewDevice, false, seat, nil},
		{"per-deployment, all used for good", dep(2), NewDevice, false, none, ErrSeatsExhausted},
		{"migration, cap-1 started this year", mig(3, 4), NewDevice, false, migration, nil},
		{"migration, cap started this year", mig(4, 4), NewDevice, false, none, ErrSeatsExhausted},
		{"migration, no cap", mig(40, -1), NewDevice, false, migration, nil},
		{"recommission as a migration, cap started", mig(4, 4), Recommissioned, false, none, ErrSeatsExhausted},
	}
	for _, tc := range tests {
		got, err := decideSeat(tc.s, tc.o, tc.failover)
		if got != tc.want || (tc.err == nil) != (err == nil) || (tc.err != nil && !errors.Is(err, tc.err)) {
			t.Errorf("%s: %+v %v, want %+v %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func TestMoney(t *testing.T) {
	for cents, want := range map[int64]string{0: "0.00", 5: "0.05", 4999: "49.99", 5000: "50.00", 100010: "1000.10", -250: "-2.50"} {
		if got := string(appendMoney(nil, cents)); got != want {
			t.Errorf("%d cents: %q, want %q", cents, got, want)
		}
	}
	if money(7500) != "75.00 USD" {
		t.Errorf("money: %q", money(7500))
	}
}
