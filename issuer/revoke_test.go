package issuer

import (
	"errors"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

func TestRevokeAndPublish(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 5, license.Subscription, 0)
	res, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "m1", false))
	if err != nil {
		t.Fatal(err)
	}
	lt, _ := license.Inspect(tok)
	licID := lt.Claims.ID.String()
	if already, err := l.Revoke(licID, license.ReasonRefunded, time.Time{}); err != nil || already {
		t.Fatal(err)
	}
	if already, err := l.Revoke(licID, license.ReasonRefunded, time.Time{}); err != nil || !already {
		t.Fatalf("revoking twice must be a no-op: %v %v", already, err)
	}
	if _, err := l.Revoke(res.Activation.String(), license.ReasonAbuse, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Revoke("lic_nope", 0, time.Time{}); err == nil {
		t.Fatal("bad ID accepted")
	}
	if _, err := l.Revoke(licID, license.ReasonKeyCompromise, time.Time{}); err == nil {
		t.Fatal("key-compromise on a license accepted")
	}
	keys := verifier.NewKeyring(k.Public())
	tok1, list1, err := l.PublishRevocationList(k, "Acme", 7*24*time.Hour)
	if err != nil || list1.Sequence != 1 {
		t.Fatalf("first list: %v", err)
	}
	rl, err := verifier.ParseRevocationList(tok1, keys)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := rl.License(lt.Claims.ID); !ok || e.Reason != license.ReasonRefunded {
		t.Fatal("license missing from the list")
	}
	if _, ok := rl.Activation(res.Activation); !ok {
		t.Fatal("activation missing from the list")
	}
	o := verifier.Options{Keys: keys, Product: product, Now: ledgerNow, Revocations: rl}
	if _, err := verifier.VerifyActivation(tok, license.Armor(license.TypeActivation, res.Token), syntheticMachine(1).Digest(product), o); !errors.Is(err, verifier.ErrRevoked) {
		t.Fatalf("revoked: %v", err)
	}
	if err := l.Unrevoke(licID); err != nil {
		t.Fatal(err)
	}
	if err := l.Unrevoke(licID); err == nil {
		t.Fatal("unrevoking twice should say it is not revoked")
	}
	tok2, list2, err := l.PublishRevocationList(k, "Acme", time.Hour)
	if err != nil || list2.Sequence != 2 {
		t.Fatalf("second list: %v", err)
	}
	rl2, _ := verifier.ParseRevocationList(tok2, keys)
	if _, ok := rl2.License(lt.Claims.ID); ok {
		t.Fatal("unrevoked license still listed")
	}
	var events int
	l.db.QueryRow(`SELECT COUNT(*) FROM events WHERE kind IN ('revoked', 'unrevoked', 'revocation-list')`).Scan(&events)
	if events != 5 {
		t.Fatalf("recorded %d revocation events, want 5", events)
	}
}
