package verifier_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocose "github.com/veraison/go-cose"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

func testKey(t testing.TB) (*issuer.Key, *verifier.Keyring) {
	k, err := issuer.NewKeyFromSeed(seq(32))
	if err != nil {
		t.Fatal(err)
	}
	return k, verifier.NewKeyring(k.Public())
}

var now = date("2026-06-01T00:00:00Z")

func opts(keys *verifier.Keyring) verifier.Options {
	return verifier.Options{Keys: keys, Product: "ledgerpro", Now: now}
}

// Every single-bit change of a valid token must be refused.
func TestEveryBitFlipRefused(t *testing.T) {
	k, keys := testKey(t)
	tok, err := k.Mint(typicalClaims())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(tok, opts(keys)); err != nil {
		t.Fatal(err)
	}
	for i := range len(tok) * 8 {
		bad := bytes.Clone(tok)
		bad[i/8] ^= 1 << (i % 8)
		if lic, err := verifier.Verify(bad, opts(keys)); err == nil {
			t.Fatalf("bit %d flipped: accepted %+v", i, lic)
		}
	}
}

func TestGoCOSEVerifiesOurToken(t *testing.T) {
	k, _ := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	var m gocose.Sign1Message
	if err := m.UnmarshalCBOR(tok); err != nil {
		t.Fatal(err)
	}
	v, err := gocose.NewVerifier(gocose.AlgorithmEdDSA, k.Public().Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(nil, v); err != nil {
		t.Fatalf("go-cose refuses our token: %v", err)
	}
	if typ := m.Headers.Protected[gocose.HeaderLabelType]; typ != license.TypeLicense {
		t.Fatalf("typ seen by go-cose: %v", typ)
	}
	c, err := license.ParseClaims(m.Payload)
	if err != nil || c.Customer != "Globex Corp" {
		t.Fatalf("payload: %v", err)
	}
}

func TestWeVerifyGoCOSEToken(t *testing.T) {
	k, keys := testKey(t)
	priv := ed25519.NewKeyFromSeed(seq(32))
	signer, err := gocose.NewSigner(gocose.AlgorithmEdDSA, priv)
	if err != nil {
		t.Fatal(err)
	}
	kid := k.ID()
	payload, _ := typicalClaims().Marshal()
	h := gocose.Headers{Protected: gocose.ProtectedHeader{
		gocose.HeaderLabelAlgorithm: gocose.AlgorithmEdDSA,
		gocose.HeaderLabelKeyID:     kid[:],
		gocose.HeaderLabelType:      license.TypeLicense,
	}}
	tok, err := gocose.Sign1(rand.Reader, signer, h, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	lic, err := verifier.Verify(tok, opts(keys))
	if err != nil {
		t.Fatalf("go-cose token refused: %v", err)
	}
	if lic.Seats != 25 || lic.KeyID != kid {
		t.Fatalf("result %+v", lic)
	}
	ours, _ := k.Mint(typicalClaims())
	if !bytes.Equal(ours, tok) {
		t.Fatalf("encodings differ:\n ours    %x\n go-cose %x", ours, tok)
	}
}

func TestVersionEntitlement(t *testing.T) {
	k, keys := testKey(t)
	sub, _ := k.Mint(typicalClaims()) // major 4, upgrades until 2027-01-15
	noUp := typicalClaims()
	noUp.Kind, noUp.Expires, noUp.UpgradesUntil = license.PerDeployment, time.Time{}, time.Time{}
	noUpgrade, _ := k.Mint(noUp)
	any := typicalClaims()
	any.Major, any.Kind, any.Expires, any.UpgradesUntil = 0, license.PerDeployment, time.Time{}, time.Time{}
	anyVersion, _ := k.Mint(any)
	tests := []struct {
		name, version, released string
		tok                     []byte
		want                    error
	}{
		{"same major, new minor", "4.9.3", "2030-01-01", sub, nil},
		{"same major, no date needed", "4.0.0", "", sub, nil},
		{"older major", "3.2.0", "", sub, nil},
		{"newer major released during protection", "5.0.0", "2026-12-01", sub, nil},
		{"newer major released on the last day", "5.0.0", "2027-01-15", sub, nil},
		{"newer major released after protection", "5.0.0", "2027-01-16", sub, verifier.ErrVersion},
		{"newer major without release date", "5.0.0", "", sub, verifier.ErrVersion},
		{"newer major without upgrade protection", "5.0.0", "2026-02-01", noUpgrade, verifier.ErrVersion},
		{"no major licensed, no protection", "9.0.0", "", anyVersion, nil},
		{"malformed version", "4.x", "", sub, verifier.ErrBadVersion},
		{"leading zero", "04.1", "", sub, verifier.ErrBadVersion},
		{"too many parts", "4.1.2.3", "", sub, verifier.ErrBadVersion},
	}
	for _, tc := range tests {
		o := opts(keys)
		o.Version = tc.version
		if tc.released != "" {
			o.ReleaseDate, _ = time.Parse(time.DateOnly, tc.released)
		}
		_, err := verifier.Verify(tc.tok, o)
		if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	o := opts(keys)
	o.Version, o.LatestMajor = "4.1.0", 6
	if lic, err := verifier.Verify(sub, o); err != nil || !lic.Legacy {
		t.Fatalf("two majors behind should be legacy: %v %+v", err, lic)
	}
	o.LatestMajor = 5
	if lic, _ := verifier.Verify(sub, o); lic.Legacy {
		t.Fatal("one major behind is not legacy")
	}
}

func TestValidityEdgesAndSkew(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims()) // 2026-01-15 .. 2027-01-15
	exp := date("2027-01-15T00:00:00Z")
	iat := date("2026-01-15T00:00:00Z")
	for _, tc := range []struct {
		at   time.Time
		want error
	}{
		{exp.Add(verifier.DefaultSkew - time.Second), nil},
		{exp.Add(verifier.DefaultSkew), verifier.ErrExpired},
		{iat.Add(-verifier.DefaultSkew), nil},
		{iat.Add(-verifier.DefaultSkew - time.Second), verifier.ErrNotYetValid},
	} {
		o := opts(keys)
		o.Now = tc.at
		if _, err := verifier.Verify(tok, o); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("at %v: got %v want %v", tc.at, err, tc.want)
		}
	}
}

func TestFeaturesAndConfig(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := opts(keys)
	o.Features = []string{"sso", "api"}
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	o.Features = []string{"sso", "audit"}
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrFeature) || !strings.Contains(err.Error(), "audit") {
		t.Fatalf("missing feature: %v", err)
	}
	if _, err := verifier.Verify(tok, verifier.Options{Product: "ledgerpro"}); !errors.Is(err, verifier.ErrNoKeys) {
		t.Fatalf("no keys must fail closed: %v", err)
	}
	if _, err := verifier.Verify(tok, verifier.Options{Keys: keys}); !errors.Is(err, verifier.ErrNoProduct) {
		t.Fatalf("no product: %v", err)
	}
}

func TestKeyringSeveralKeys(t *testing.T) {
	k1, _ := testKey(t)
	k2, _ := issuer.GenerateKey()
	keys := verifier.NewKeyring(k1.Public(), k2.Public())
	for _, k := range []*issuer.Key{k1, k2} {
		tok, _ := k.Mint(typicalClaims())
		lic, err := verifier.Verify(tok, opts(keys))
		if err != nil || lic.KeyID != k.ID() {
			t.Fatalf("key %s: %v", k.ID(), err)
		}
	}
	if keys.Len() != 2 || len(keys.IDs()) != 2 {
		t.Fatal("keyring size")
	}
}

func TestClockRollbackState(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	state := filepath.Join(tempDir(t), "state")
	o := opts(keys)
	o.State = state
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(state); err != nil || (unixPerms && st.Mode().Perm() != 0o600) {
		t.Fatalf("state file: %v", err)
	}
	o.Now = now.Add(-23 * time.Hour) // within tolerance
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatalf("small step back: %v", err)
	}
	o.Now = now.Add(-25 * time.Hour)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrClockRollback) {
		t.Fatalf("rollback: %v", err)
	}
	o.Now = now.Add(48 * time.Hour) // moving forward raises the mark
	verifier.Verify(tok, o)
	o.Now = now
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrClockRollback) {
		t.Fatalf("rollback after advance: %v", err)
	}
	os.WriteFile(state, []byte{0xa1, 0x01, 0x18, 0x05}, 0o600) // non-canonical
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrState) {
		t.Fatalf("damaged state: %v", err)
	}
}

// The packages a vendor links must not pull in the issuer, SQL, or any
// seatkey code beyond license, activation, fingerprint (whose TPM access only
// reads the endorsement key) and internal helpers; license alone needs no
// hardware code at all.
func TestVerifierDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	allowed := map[string]bool{"license": true, "verifier": true, "activation": true, "fingerprint": true}
	for _, dep := range deps("github.com/seatkey/seatkey/verifier") {
		// net/http is linked (not called) by every ghw package through its PCI
		// database; the fingerprint never reads PCI, so nothing goes online.
		for _, bad := range []string{"database/sql", "sqlite", "net/smtp"} {
			if strings.Contains(dep, bad) {
				t.Errorf("verifier depends on %s", dep)
			}
		}
		if own, ok := strings.CutPrefix(dep, "github.com/seatkey/seatkey/"); ok && !allowed[own] && !strings.HasPrefix(own, "internal/") {
			t.Errorf("verifier depends on seatkey/%s", own)
		}
	}
	for _, dep := range deps("github.com/seatkey/seatkey/license") {
		if strings.Contains(dep, "go-tpm") || strings.Contains(dep, "ghw") || strings.Contains(dep, "seatkey/fingerprint") {
			t.Errorf("license depends on %s", dep)
		}
	}
}

func FuzzVerify(f *testing.F) {
	vs := loadVectors(f)
	for _, v := range vs.Valid {
		f.Add([]byte(v.Line))
	}
	for _, v := range vs.Invalid {
		b, _ := hexBytes(v.Token)
		f.Add(b)
	}
	pk, _ := license.ParsePublicKey([]byte(vs.PublicKeyFile))
	keys := verifier.NewKeyring(pk)
	valid := map[string]bool{} // binary form of every valid vector
	for _, v := range vs.Valid {
		valid[v.Token] = true
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lic, err := verifier.Verify(b, verifier.Options{Keys: keys, Product: vs.Product, Now: vs.Now})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if lic.Validate() != nil {
			t.Fatal("accepted invalid claims")
		}
		// Without the private key, the only tokens that can verify are the
		// ones it signed: an accepted input must be one of the valid vectors
		// (in any text form).
		raw, err := license.Decode(license.TypeLicense, b)
		if err != nil {
			t.Fatalf("Verify accepted what Decode refuses: %v", err)
		}
		if !valid[hex.EncodeToString(raw)] {
			t.Fatalf("accepted a token that is not one of the signed vectors: %x", raw)
		}
	})
}
