package issuer

import (
	"errors"
	"testing"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/license"
)

// SPEC 10.4 rules 5 and 6: decommissioning a failover installation frees its
// failover slot, as decommissioning a device frees its seat.
func TestDecommissionFreesFailoverSlot(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 1)
	standby, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "standby", true))
	if err != nil || !standby.Failover {
		t.Fatalf("failover: %v %+v", err, standby)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(3), "standby2", true)); !errors.Is(err, ErrFailoverExhausted) {
		t.Fatalf("second failover of one: %v", err)
	}
	if err := l.Decommission(standby.Device); err != nil {
		t.Fatal(err)
	}
	r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(3), "standby2", true))
	if err != nil || !r.Failover || r.Outcome != NewDevice {
		t.Fatalf("failover after the first was decommissioned: %v %+v", err, r)
	}
}

// SPEC 10.2: the activation token carries the hardware components only;
// software components (hostname, domain, machine-id) in the request never
// reach it.
func TestActivationCarriesHardwareOnly(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 5, license.Subscription, 0)
	m := syntheticMachine(1)
	m.Set(fingerprint.Domain, "corp.globex.example")
	m.Set(fingerprint.MachineID, "5b2e0a8f4c9d4e1fa3b7c6d5e4f30211")
	req := m.Digest(product)
	for _, c := range []fingerprint.Component{fingerprint.Hostname, fingerprint.Domain, fingerprint.MachineID} {
		if !req.Has(c) {
			t.Fatalf("fixture request lacks %s", c)
		}
	}
	res, err := l.Activate(k, requestFor(t, tok, m, "m1", false))
	if err != nil {
		t.Fatal(err)
	}
	m2, err := cose.Parse(res.Token, license.MaxTokenSize)
	if err != nil {
		t.Fatal(err)
	}
	c, err := activation.ParseClaims(m2.Payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, comp := range fingerprint.Components() {
		if comp.Class() == fingerprint.Software && c.Fingerprint.Has(comp) {
			t.Errorf("activation token carries software component %s", comp)
		}
		if comp.Class() != fingerprint.Software && c.Fingerprint.Has(comp) != req.Has(comp) {
			t.Errorf("hardware component %s: in token %v, in request %v", comp, c.Fingerprint.Has(comp), req.Has(comp))
		}
	}
}
