package verifier_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// activationFor signs an activation of the typical license for machine.
func activationFor(t *testing.T, k *issuer.Key, id activation.ID, machine *fingerprint.Fingerprint) []byte {
	t.Helper()
	c := activation.Claims{ID: id, License: typicalClaims().ID, IssuedAt: date("2026-02-01T00:00:00Z"), Fingerprint: machine}
	copy(c.Device[:], seq(16))
	p, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Sign(license.TypeActivation, p)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func testMachine() *fingerprint.Fingerprint {
	p := &fingerprint.Profile{}
	p.Set(fingerprint.BoardSerial, "7XK2PL3")
	p.Set(fingerprint.SystemUUID, "4c4c4544-0058-4b10-8031-b3c04f4e5032")
	p.Set(fingerprint.NICs, "b0:7b:25:d4:3e:10")
	return p.Digest("ledgerpro")
}

// An activation revoked on its own (the license stays good) is refused by
// VerifyActivation with a RevokedError naming the activation; the license
// alone still verifies with the same list, and an activation the list does
// not name still verifies. Catches the activation revocation check removed.
func TestRevokedActivationOnly(t *testing.T) {
	k, keys := testKey(t)
	lic, err := k.Mint(typicalClaims())
	if err != nil {
		t.Fatal(err)
	}
	var revokedID, keptID activation.ID
	revokedID[0], keptID[0] = 0xa1, 0xa2
	m := testMachine()
	revoked, kept := activationFor(t, k, revokedID, m), activationFor(t, k, keptID, m)
	list := signList(t, k, 1, now.Add(-time.Hour), now.Add(24*time.Hour), nil,
		[]license.Entry{{ID: revokedID[:], At: now.Add(-2 * time.Hour), Reason: license.ReasonAbuse}}, nil)
	rl, err := verifier.ParseRevocationList(list, keys)
	if err != nil {
		t.Fatal(err)
	}
	o := opts(keys)
	// Without the list the activation is good: the list is what refuses it.
	if _, err := verifier.VerifyActivation(lic, revoked, m, o); err != nil {
		t.Fatalf("activation without a list: %v", err)
	}
	o.Revocations = rl
	if _, err := verifier.Verify(lic, o); err != nil {
		t.Fatalf("the license itself is not revoked: %v", err)
	}
	_, err = verifier.VerifyActivation(lic, revoked, m, o)
	var re *verifier.RevokedError
	if !errors.Is(err, verifier.ErrRevoked) || !errors.As(err, &re) || re.What != "activation" ||
		re.ID != revokedID.String() || re.Reason != license.ReasonAbuse || !re.At.Equal(now.Add(-2*time.Hour)) {
		t.Fatalf("revoked activation: %v (%+v)", err, re)
	}
	if a, err := verifier.VerifyActivation(lic, kept, m, o); err != nil || a.Activation.ID != keptID {
		t.Fatalf("activation the list does not name: %v", err)
	}
}

// Keyring.Retire with no revocation list: tokens issued before the
// retirement time (and at it) stay valid, tokens issued after it are refused.
// Catches Retire, or checkKey, ignoring the retirement time in either direction.
func TestKeyringRetireTime(t *testing.T) {
	k, _ := testKey(t)
	c := typicalClaims()
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		retired time.Time
		want    error
	}{
		{"retired a day after issue", c.IssuedAt.Add(24 * time.Hour), nil},
		{"retired a second after issue", c.IssuedAt.Add(time.Second), nil},
		{"retired at the issue time", c.IssuedAt, nil},
		{"retired a second before issue", c.IssuedAt.Add(-time.Second), verifier.ErrKeyRetired},
		{"retired a year before issue", c.IssuedAt.AddDate(-1, 0, 0), verifier.ErrKeyRetired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr := verifier.NewKeyring(k.Public())
			kr.Retire(k.ID(), tc.retired)
			o := opts(kr)
			if o.Revocations != nil {
				t.Fatal("this test is about the keyring alone")
			}
			_, err := verifier.Verify(tok, o)
			if tc.want == nil && err != nil {
				t.Fatalf("token issued %s, key retired %s: %v", c.IssuedAt, tc.retired, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("token issued %s, key retired %s: got %v, want %v", c.IssuedAt, tc.retired, err, tc.want)
			}
		})
	}
	// Retiring another key changes nothing for this one.
	other, _ := issuer.GenerateKey()
	kr := verifier.NewKeyring(k.Public(), other.Public())
	kr.Retire(other.ID(), c.IssuedAt.AddDate(-1, 0, 0))
	if _, err := verifier.Verify(tok, opts(kr)); err != nil {
		t.Fatalf("another key retired: %v", err)
	}
}
