package verifier_test

import (
	"errors"
	"testing"

	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// SPEC section 7: a verifier with no keys refuses with ErrNoKeys (rather than
// reaching the signature step at all), also for an empty keyring.
func TestEmptyKeyringIsNoKeys(t *testing.T) {
	k, _ := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	for name, kr := range map[string]*verifier.Keyring{"nil": nil, "empty": verifier.NewKeyring()} {
		o := opts(kr)
		if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrNoKeys) {
			t.Errorf("%s keyring, Verify: %v", name, err)
		}
		if _, err := verifier.ParseRevocationList(tok, kr); !errors.Is(err, verifier.ErrNoKeys) {
			t.Errorf("%s keyring, ParseRevocationList: %v", name, err)
		}
	}
}

// SPEC section 7 step 2: a token over 65,536 bytes in binary form is
// ErrTooLarge, checked before anything else, even when validly signed; one
// at the limit goes on to the next checks.
func TestTokenSizeLimit(t *testing.T) {
	k, keys := testKey(t)
	sign := func(payloadSize int) []byte {
		tok, err := k.Sign(license.TypeLicense, make([]byte, payloadSize))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	over := sign(license.MaxTokenSize) // payload alone at the limit: the token is over it
	if len(over) <= license.MaxTokenSize {
		t.Fatalf("token of %d bytes is not over the limit", len(over))
	}
	for name, form := range map[string][]byte{"binary": over, "armored": license.Armor(license.TypeLicense, over)} {
		if _, err := verifier.Verify(form, opts(keys)); !errors.Is(err, license.ErrTooLarge) {
			t.Errorf("%s token of %d bytes: %v", name, len(over), err)
		}
	}
	// Exactly at the limit: past the size check, refused later (the payload
	// is no license), not as too large.
	n := license.MaxTokenSize - (len(over) - license.MaxTokenSize)
	at := sign(n)
	for len(at) < license.MaxTokenSize {
		n++
		at = sign(n)
	}
	if len(at) != license.MaxTokenSize {
		t.Skipf("cannot build a token of exactly %d bytes (got %d)", license.MaxTokenSize, len(at))
	}
	if _, err := verifier.Verify(at, opts(keys)); err == nil || errors.Is(err, license.ErrTooLarge) {
		t.Fatalf("token of exactly %d bytes: %v", len(at), err)
	}
}
