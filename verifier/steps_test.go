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

// SPEC section 7 step 14 has two halves: now + skew >= nbf and now + skew >=
// iat. A license whose nbf was set before its issue time is still not valid
// before it was issued (a backdated start cannot reach back past iat).
func TestNotValidBeforeIssueTime(t *testing.T) {
	k, keys := testKey(t)
	c := typicalClaims()
	c.NotBefore = c.IssuedAt.AddDate(0, -1, 0) // a month before it was issued
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	o := opts(keys)
	for _, tc := range []struct {
		name string
		at   time.Time
		want error
	}{
		{"between nbf and iat", c.IssuedAt.AddDate(0, 0, -7), verifier.ErrNotYetValid},
		{"just beyond the skew before iat", c.IssuedAt.Add(-verifier.DefaultSkew - time.Second), verifier.ErrNotYetValid},
		{"exactly the skew before iat", c.IssuedAt.Add(-verifier.DefaultSkew), nil},
		{"at iat", c.IssuedAt, nil},
	} {
		o.Now = tc.at
		_, err := verifier.Verify(tok, o)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s (%s): got %v, want %v", tc.name, tc.at.Format(time.RFC3339), err, tc.want)
		}
	}
}

// activationClaims is a valid activation of the typical license for testMachine.
func activationClaims() activation.Claims {
	c := activation.Claims{License: typicalClaims().ID, IssuedAt: date("2026-02-01T00:00:00Z"), Fingerprint: testMachine()}
	c.ID[0], c.Device[0] = 0xac, 0xde
	return c
}

func signActivation(t *testing.T, k *issuer.Key, c activation.Claims) []byte {
	t.Helper()
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

// SPEC section 10.3 step 8: an activation with exp is refused from exp
// (within the skew) on, and accepted before it.
func TestActivationExpiry(t *testing.T) {
	k, keys := testKey(t)
	lic, _ := k.Mint(typicalClaims())
	c := activationClaims()
	c.Expires = date("2026-09-01T00:00:00Z") // before the license's own expiry
	act := signActivation(t, k, c)
	o := opts(keys)
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{c.Expires.AddDate(0, 0, -1), nil},
		{c.Expires.Add(verifier.DefaultSkew - time.Second), nil},
		{c.Expires.Add(verifier.DefaultSkew), verifier.ErrActivationExpired},
		{c.Expires.AddDate(0, 1, 0), verifier.ErrActivationExpired},
	} {
		o.Now = tc.at
		if _, err := verifier.Verify(lic, o); err != nil {
			t.Fatalf("the license itself at %s: %v", tc.at, err)
		}
		_, err := verifier.VerifyActivation(lic, act, testMachine(), o)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("activation expiring %s, at %s: got %v, want %v", c.Expires.Format(time.RFC3339), tc.at.Format(time.RFC3339), err, tc.want)
		}
	}
}

// SPEC section 10.3 step 9: an activation whose enrolled fingerprint was made
// for another scope is invalid claims, refused before any matching (even
// when the machine's fingerprint was taken for that same scope).
func TestActivationScopeIsTheProduct(t *testing.T) {
	k, keys := testKey(t)
	lic, _ := k.Mint(typicalClaims())
	p := &fingerprint.Profile{}
	p.Set(fingerprint.BoardSerial, "7XK2PL3")
	p.Set(fingerprint.SystemUUID, "4c4c4544-0058-4b10-8031-b3c04f4e5032")
	other := p.Digest("otherproduct")
	c := activationClaims()
	c.Fingerprint = other
	_, err := verifier.VerifyActivation(lic, signActivation(t, k, c), other, opts(keys))
	var de *verifier.DeviceError
	if !errors.Is(err, license.ErrInvalidClaims) || errors.As(err, &de) {
		t.Fatalf("activation for another scope: %v", err)
	}
}

// SPEC section 11.2: activation verification applies 11a and 11b to the
// activation's own signing key, not only the license's.
func TestActivationSigningKeyRevokedOrRetired(t *testing.T) {
	k, keys := testKey(t)
	other, _ := issuer.NewKeyFromSeed(make([]byte, 32))
	keys.Add(other.Public())
	lic, _ := k.Mint(typicalClaims()) // signed by k: stays valid throughout
	c := activationClaims()           // issued 2026-02-01
	act := signActivation(t, other, c)
	o := opts(keys)
	if _, err := verifier.VerifyActivation(lic, act, testMachine(), o); err != nil {
		t.Fatalf("before any revocation: %v", err)
	}
	otherID := other.ID()
	t.Run("compromised", func(t *testing.T) {
		rl, err := verifier.ParseRevocationList(signList(t, k, 1, now.Add(-time.Hour), now.Add(time.Hour), nil, nil,
			[]license.Entry{{ID: otherID[:], At: now.Add(-2 * time.Hour), Reason: license.ReasonKeyCompromise}}), keys)
		if err != nil {
			t.Fatal(err)
		}
		o := o
		o.Revocations = rl
		var re *verifier.RevokedError
		if _, err := verifier.VerifyActivation(lic, act, testMachine(), o); !errors.As(err, &re) || re.What != "signing key" || re.ID != otherID.String() {
			t.Fatalf("activation signed by a compromised key: %v", err)
		}
	})
	t.Run("retired before issue, keyring", func(t *testing.T) {
		kr := verifier.NewKeyring(k.Public(), other.Public())
		kr.Retire(otherID, c.IssuedAt.Add(-time.Second))
		o := o
		o.Keys = kr
		if _, err := verifier.VerifyActivation(lic, act, testMachine(), o); !errors.Is(err, verifier.ErrKeyRetired) {
			t.Fatalf("activation signed after its key's retirement: %v", err)
		}
		kr.Retire(otherID, c.IssuedAt.Add(time.Second))
		if _, err := verifier.VerifyActivation(lic, act, testMachine(), o); err != nil {
			t.Fatalf("activation signed before its key's retirement: %v", err)
		}
	})
}
