package issuer

import (
	"strings"
	"testing"

	"github.com/seatkey/seatkey/license"
)

// Decommissioning records a confirmation for the customer's contact that
// names the machine (SPEC 10.4 rule 7); an overage notification names the
// device by its label too; the portal's consolidated mail marks the
// confirmations delivered (MarkDelivered), or they stay for 'seatkey notify'.
func TestNotificationsNameTheMachine(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{OverageAllowed: true, OveragePriceCents: 100, Contact: "it@globex.example"}); err != nil {
		t.Fatal(err)
	}
	a, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "web-01", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "db-02", false)); err != nil {
		t.Fatal(err)
	}
	over := notes(t, l, "overage")
	if len(over) != 1 || !strings.Contains(over[0].Body, `"db-02"`) {
		t.Fatalf("overage notification: %+v", over)
	}
	if err := l.Decommission(a.Device); err != nil {
		t.Fatal(err)
	}
	conf := notes(t, l, "decommission-confirmation")
	if len(conf) != 1 || conf[0].Recipient != "it@globex.example" || !strings.Contains(conf[0].Subject, `"web-01"`) ||
		!strings.Contains(conf[0].Body, a.Device.String()) || !strings.Contains(conf[0].Body, "uses 1 of 1 seats") || conf[0].Delivered {
		t.Fatalf("confirmation: %+v", conf)
	}
	lt, _ := license.Inspect(tok)
	if err := l.MarkDelivered(lt.Claims.ID, "decommission-confirmation"); err != nil {
		t.Fatal(err)
	}
	if conf := notes(t, l, "decommission-confirmation"); !conf[0].Delivered {
		t.Fatal("not marked delivered")
	}
	if over := notes(t, l, "overage"); over[0].Delivered {
		t.Fatal("another kind was marked delivered")
	}
}

// The overage sequence of issue 13: 25 seats all used, one normal device
// decommissioned, five more activated: the first takes the freed seat, four
// are overage, each billed once; the report says 29 in use and 4 billed.
func TestOverageSequenceAddsUp(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 25, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{OverageAllowed: true, OveragePriceCents: 5000}); err != nil {
		t.Fatal(err)
	}
	var first *Result
	for i := 0; i < 25; i++ {
		r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(i), "m", false))
		if err != nil || r.Overage {
			t.Fatalf("device %d: %+v %v", i, r, err)
		}
		if i == 0 {
			first = r
		}
	}
	if err := l.Decommission(first.Device); err != nil {
		t.Fatal(err)
	}
	overage := 0
	for i := 25; i < 30; i++ {
		r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(i), "n", false))
		if err != nil {
			t.Fatal(err)
		}
		if r.Overage {
			overage++
		}
	}
	s, err := l.Summaries(Filter{})
	if err != nil || len(s) != 1 {
		t.Fatal(s, err)
	}
	if overage != 4 || s[0].Used != 29 || s[0].Overage != 4 || s[0].AmountCents != 4*5000 {
		t.Fatalf("%d overage activations; report: used %d, overage %d, amount %d", overage, s[0].Used, s[0].Overage, s[0].AmountCents)
	}
}
