package verifier_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// signList builds and signs a revocation list directly (the ledger's way is tested in issuer).
func signList(t testing.TB, k *issuer.Key, seq uint64, issued, next time.Time, lics, acts, keys []license.Entry) []byte {
	t.Helper()
	rl, err := license.NewRevocations("Acme Software", seq, issued, next, lics, acts, keys)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rl.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Sign(license.TypeRevocation, p)
	if err != nil {
		t.Fatal(err)
	}
	return license.Armor(license.TypeRevocation, tok)
}

func TestRevokedLicenseAndKey(t *testing.T) {
	k, keys := testKey(t)
	other, _ := issuer.GenerateKey()
	keys.Add(other.Public())
	tok, _ := k.Mint(typicalClaims())
	c2 := typicalClaims()
	c2.ID[0] = 0x77
	tok2, _ := other.Mint(c2)
	id := typicalClaims().ID
	otherID := other.ID()
	list := signList(t, k, 3, now.Add(-time.Hour), now.Add(7*24*time.Hour),
		[]license.Entry{{ID: id[:], At: now.Add(-2 * time.Hour), Reason: license.ReasonRefunded}}, nil,
		[]license.Entry{{ID: otherID[:], At: now.Add(-3 * time.Hour), Reason: license.ReasonKeyCompromise}})
	rl, err := verifier.ParseRevocationList(list, keys)
	if err != nil {
		t.Fatal(err)
	}
	o := opts(keys)
	o.Revocations = rl
	_, err = verifier.Verify(tok, o)
	var re *verifier.RevokedError
	if !errors.Is(err, verifier.ErrRevoked) || !errors.As(err, &re) || re.Reason != license.ReasonRefunded || re.What != "license" {
		t.Fatalf("revoked license: %v", err)
	}
	if _, err := verifier.Verify(tok2, o); !errors.As(err, &re) || re.What != "signing key" || re.Reason != license.ReasonKeyCompromise {
		t.Fatalf("license signed by a compromised key: %v", err)
	}
	// A list signed by the compromised key is itself refused.
	bad := signList(t, other, 4, now.Add(-time.Hour), now.Add(time.Hour), nil, nil,
		[]license.Entry{{ID: otherID[:], At: now.Add(-3 * time.Hour), Reason: license.ReasonKeyCompromise}})
	if _, err := verifier.ParseRevocationList(bad, keys); !errors.Is(err, verifier.ErrRevoked) {
		t.Fatalf("list signed by a key it revokes: %v", err)
	}
	rogue, _ := issuer.GenerateKey()
	if _, err := verifier.ParseRevocationList(signList(t, rogue, 9, now, now.Add(time.Hour), nil, nil, nil), keys); !errors.Is(err, verifier.ErrUnknownKey) {
		t.Fatalf("list signed by an untrusted key: %v", err)
	}
	if _, err := verifier.ParseRevocationList(tok, keys); !errors.Is(err, license.ErrWrongType) {
		t.Fatalf("license offered as a list: %v", err)
	}
	// Without the list, the same licenses verify: revocation is what refused them.
	if _, err := verifier.Verify(tok, opts(keys)); err != nil {
		t.Fatal(err)
	}
}

func TestRetiredKey(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims()) // issued 2026-01-15
	kid := k.ID()
	current, _ := issuer.GenerateKey()
	keys.Add(current.Public())
	for _, tc := range []struct {
		retired time.Time
		want    error
	}{{date("2026-02-01T00:00:00Z"), nil}, {date("2026-01-01T00:00:00Z"), verifier.ErrKeyRetired}} {
		list := signList(t, k, 1, now.Add(-time.Hour), now.Add(time.Hour), nil, nil, []license.Entry{{ID: kid[:], At: tc.retired, Reason: license.ReasonRetired}})
		rl, err := verifier.ParseRevocationList(list, keys)
		if tc.want != nil {
			// The list itself was issued after the key's retirement: refused too.
			if !errors.Is(err, verifier.ErrKeyRetired) {
				t.Fatalf("list signed by a retired key: %v", err)
			}
			kr := verifier.NewKeyring(k.Public())
			kr.Retire(kid, tc.retired)
			if _, err := verifier.Verify(tok, opts(kr)); !errors.Is(err, verifier.ErrKeyRetired) {
				t.Fatalf("retired in the keyring: %v", err)
			}
			continue
		}
		// A list signed by k now is refused (k is retired): the vendor's
		// current key signs it, retiring k as of tc.retired.
		list = signList(t, current, 1, now.Add(-time.Hour), now.Add(time.Hour), nil, nil, []license.Entry{{ID: kid[:], At: tc.retired, Reason: license.ReasonRetired}})
		rl, err = verifier.ParseRevocationList(list, keys)
		if err != nil {
			t.Fatalf("list from the current key: %v", err)
		}
		o := opts(keys)
		o.Revocations = rl
		if _, err := verifier.Verify(tok, o); err != nil {
			t.Fatalf("token issued before retirement: %v", err)
		}
	}
}

func TestRevocationRollbackAndStale(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	state := filepath.Join(tempDir(t), "state")
	parse := func(seq uint64, next time.Time) *verifier.RevocationList {
		rl, err := verifier.ParseRevocationList(signList(t, k, seq, now.Add(-time.Hour), next, nil, nil, nil), keys)
		if err != nil {
			t.Fatal(err)
		}
		return rl
	}
	o := opts(keys)
	o.State = state
	o.Revocations = parse(5, now.Add(time.Hour))
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	o.Revocations = parse(4, now.Add(time.Hour))
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationRollback) {
		t.Fatalf("older list after a newer one: %v", err)
	}
	o.Revocations = parse(6, now.Add(-time.Minute)) // stale
	lic, err := verifier.Verify(tok, o)
	if err != nil || len(lic.Warnings) != 1 {
		t.Fatalf("stale list should warn by default: %v %v", err, lic)
	}
	o.RefuseStale = true
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrStaleRevocationList) {
		t.Fatalf("stale list with RefuseStale: %v", err)
	}
}

func FuzzParseRevocationList(f *testing.F) {
	k, _ := issuer.NewKeyFromSeed(seq(32))
	keys := verifier.NewKeyring(k.Public())
	id := typicalClaims().ID
	f.Add(signList(f, k, 1, now, now.Add(time.Hour), []license.Entry{{ID: id[:], At: now, Reason: 2}}, nil, nil))
	rl, _ := license.NewRevocations("v", 1, now, now.Add(time.Hour), []license.Entry{{ID: id[:], At: now}}, nil, nil)
	p, _ := rl.Marshal()
	f.Add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		// The payload decoder directly (no signature to get past) ...
		l, perr := license.ParseRevocations(b)
		if perr == nil {
			again, err := l.Marshal()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("accepted list does not re-encode identically: %v", err)
			}
			// Rebuilt from its parts, the list is the same bytes.
			rebuilt, err := license.NewRevocations(l.Vendor, l.Sequence, l.IssuedAt, l.NextUpdate, nil, nil, nil)
			if err != nil || rebuilt.Sequence != l.Sequence || !rebuilt.NextUpdate.After(rebuilt.IssuedAt) {
				t.Fatalf("accepted list with fields NewRevocationList refuses: %v", err)
			}
			l.License(id)
		}
		// ... and the whole token path, validly signed: it never accepts a
		// payload the payload decoder refuses (it may refuse more: a list
		// revoking or retiring its own signer), and keeps its content.
		if tok, err := k.Sign(license.TypeRevocation, b); err == nil {
			rl, verr := verifier.ParseRevocationList(tok, keys)
			if verr == nil && perr != nil {
				t.Fatalf("token path accepted a payload the decoder refuses: %v", perr)
			}
			if verr == nil {
				again, err := rl.Marshal()
				if err != nil || !bytes.Equal(again, b) || rl.KeyID != k.ID() {
					t.Fatalf("verified list does not re-encode identically: %v", err)
				}
			}
		}
	})
}
