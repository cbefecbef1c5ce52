package verifier_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

var update = flag.Bool("update", false, "rewrite testdata/vectors/license.json from the generator")

const (
	vectorFile  = "../testdata/vectors/license.json"
	typicalFile = "../testdata/vectors/typical.lic"
)

// vectorSet is the JSON form of the shared test vectors (SPEC.md, "Test vectors").
type vectorSet struct {
	Comment       string          `json:"comment"`
	Seed          string          `json:"seed"`
	PublicKey     string          `json:"public_key"`
	KeyID         string          `json:"kid"`
	PublicKeyFile string          `json:"public_key_file"`
	OtherSeed     string          `json:"other_seed"`
	Product       string          `json:"product"`
	Now           time.Time       `json:"now"`
	Valid         []validVector   `json:"valid"`
	Invalid       []invalidVector `json:"invalid"`
}

type validVector struct {
	Name    string         `json:"name"`
	Claims  license.Claims `json:"claims"`
	Token   string         `json:"token"`
	Armored string         `json:"armored"`
	Line    string         `json:"line"`
}

type invalidVector struct {
	Name  string    `json:"name"`
	Token string    `json:"token"`
	Now   time.Time `json:"now,omitzero"`
	Error string    `json:"error"`
}

// vectorErrors maps the error names used in the vectors to the values they must match.
var vectorErrors = map[string]error{
	"ErrSignature":     verifier.ErrSignature,
	"ErrWrongType":     license.ErrWrongType,
	"ErrUnknownKey":    verifier.ErrUnknownKey,
	"ErrExpired":       verifier.ErrExpired,
	"ErrNotYetValid":   verifier.ErrNotYetValid,
	"ErrDuplicateKey":  license.ErrDuplicateKey,
	"ErrIndefinite":    license.ErrIndefinite,
	"ErrNonCanonical":  license.ErrNonCanonical,
	"ErrTrailing":      license.ErrTrailing,
	"ErrMalformed":     license.ErrMalformed,
	"ErrAlgorithm":     license.ErrAlgorithm,
	"ErrUnknownClaim":  license.ErrUnknownClaim,
	"ErrInvalidClaims": license.ErrInvalidClaims,
	"ErrWrongProduct":  verifier.ErrWrongProduct,
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// typicalClaims is the license the vectors and benchmarks call typical.
func typicalClaims() license.Claims {
	var id license.ID
	copy(id[:], seq(16))
	return license.Claims{
		ID: id, Vendor: "Acme Software", Customer: "Globex Corp", Product: "ledgerpro",
		IssuedAt: date("2026-01-15T00:00:00Z"), NotBefore: date("2026-01-15T00:00:00Z"), Expires: date("2027-01-15T00:00:00Z"),
		Edition: "enterprise", Features: []string{"api", "reports", "sso"}, Seats: 25, Failover: 2,
		Kind: license.Subscription, UpgradesUntil: date("2027-01-15T00:00:00Z"), Major: 4,
	}
}

func perpetualClaims() license.Claims {
	c := typicalClaims()
	c.ID[0] = 0xff
	c.Kind, c.Expires, c.Features, c.Failover = license.Perpetual, time.Time{}, nil, 0
	c.NotBefore = date("2026-02-01T00:00:00Z")
	c.UpgradesUntil = date("2027-02-01T00:00:00Z")
	return c
}

// generate builds the vector set from the fixed seeds. Invalid vectors are
// validly signed wherever the flaw is not the signature itself, so that each
// can only fail at the check it names.
func generate(t *testing.T) vectorSet {
	seed, other := seq(32), bytes.Repeat([]byte{0x42}, 32)
	k, _ := issuer.NewKeyFromSeed(seed)
	o, _ := issuer.NewKeyFromSeed(other)
	priv := ed25519.NewKeyFromSeed(seed)
	kid := k.ID()
	vs := vectorSet{
		Comment:       "seatkey license test vectors; see SPEC.md. Tokens are hex of the binary form; verify with the public key at 'now' for product 'product'.",
		Seed:          hex.EncodeToString(seed),
		PublicKey:     hex.EncodeToString(k.Public().Key),
		KeyID:         kid.String(),
		PublicKeyFile: string(k.Public().Armor()),
		OtherSeed:     hex.EncodeToString(other),
		Product:       "ledgerpro",
		Now:           date("2026-06-01T00:00:00Z"),
	}
	for _, v := range []struct {
		name string
		c    license.Claims
	}{{"typical subscription", typicalClaims()}, {"perpetual with upgrade protection", perpetualClaims()}} {
		tok, err := k.Mint(v.c)
		if err != nil {
			t.Fatal(err)
		}
		vs.Valid = append(vs.Valid, validVector{Name: v.name, Claims: v.c, Token: hex.EncodeToString(tok),
			Armored: string(license.Armor(license.TypeLicense, tok)), Line: license.Line(license.TypeLicense, tok)})
	}
	good, _ := k.Mint(typicalClaims())
	payload, _ := typicalClaims().Marshal()
	prot := func(alg int, typ string, extra ...any) []byte {
		m := map[int]any{1: alg, 4: kid[:], 16: typ}
		for i := 0; i < len(extra); i += 2 {
			m[extra[i].(int)] = extra[i+1]
		}
		b, _ := cborx.Marshal(m)
		return b
	}
	signed := func(p []byte) []byte { return cose.SignProtected(priv, prot(-8, license.TypeLicense), p) }
	// Payload surgery on the typical claims: the encoding starts with a map
	// header (a7: nbf equals iat and is omitted), then 01 6d "Acme Software" (iss).
	if payload[0] != 0xa7 || payload[1] != 0x01 || payload[2] != 0x6d {
		t.Fatalf("typical payload layout changed: % x", payload[:4])
	}
	iss := payload[1:16]
	dup := append([]byte{0xa8}, iss...)
	dup = append(dup, payload[1:]...)
	indef := append([]byte{0xbf}, payload[1:]...)
	indef = append(indef, 0xff)
	nonShortest := append([]byte{0xa7, 0x18, 0x01}, payload[2:]...)
	unsorted := append([]byte{0xa7}, payload[16:]...) // move iss to the end
	unsorted = append(unsorted[:len(unsorted):len(unsorted)], iss...)
	unknown := append([]byte{0xa8}, payload[1:]...)
	unknown = append(unknown, 0x3a, 0x00, 0x01, 0x00, 0x01, 0xf5) // -65538: true
	badSig := bytes.Clone(good)
	badSig[len(badSig)-1] ^= 0x01
	wrongType, _ := k.Sign(license.TypeActivation, payload)
	unknownKey, _ := o.Mint(typicalClaims())
	future := typicalClaims()
	future.NotBefore = date("2026-07-01T00:00:00Z")
	notYet, _ := k.Mint(future)
	otherProduct := typicalClaims()
	otherProduct.Product = "inventorypro"
	wrongProduct, _ := k.Mint(otherProduct)
	zeroSeats := append([]byte(nil), payload...)
	if i := bytes.Index(zeroSeats, []byte{0x03, 0x18, 0x19}); i < 0 {
		t.Fatal("seats not found in payload")
	} else {
		zeroSeats = append(zeroSeats[:i+1:i+1], append([]byte{0x00}, zeroSeats[i+3:]...)...)
	}
	add := func(name, errName string, tok []byte, now ...time.Time) {
		v := invalidVector{Name: name, Token: hex.EncodeToString(tok), Error: errName}
		if len(now) > 0 {
			v.Now = now[0]
		}
		vs.Invalid = append(vs.Invalid, v)
	}
	add("bad signature (last bit flipped)", "ErrSignature", badSig)
	add("activation token offered as a license", "ErrWrongType", wrongType)
	add("signed by an unknown key", "ErrUnknownKey", unknownKey)
	add("expired", "ErrExpired", good, date("2027-02-01T00:00:00Z"))
	add("not yet valid", "ErrNotYetValid", notYet)
	add("for another product", "ErrWrongProduct", wrongProduct)
	add("duplicate map key in claims", "ErrDuplicateKey", signed(dup))
	add("indefinite-length claims map", "ErrIndefinite", signed(indef))
	add("non-shortest integer (claim key 1 as 18 01)", "ErrNonCanonical", signed(nonShortest))
	add("claims map keys unsorted", "ErrNonCanonical", signed(unsorted))
	add("unknown claim -65538", "ErrUnknownClaim", signed(unknown))
	add("zero seats", "ErrInvalidClaims", signed(zeroSeats))
	add("trailing byte after the token", "ErrTrailing", append(bytes.Clone(good), 0x00))
	add("CWT tag 61 wrapped around tag 18", "ErrMalformed", append([]byte{0xd8, 0x3d}, good...))
	add("untagged COSE_Sign1", "ErrMalformed", good[1:])
	add("alg ES256 (-7) instead of EdDSA", "ErrAlgorithm", cose.SignProtected(priv, prot(-7, license.TypeLicense), payload))
	add("crit header parameter", "ErrMalformed", cose.SignProtected(priv, prot(-8, license.TypeLicense, 2, []int{99}), payload))
	unprot := bytes.Clone(good)
	if i := bytes.Index(unprot, []byte{0xa0, 0x58}); i < 0 {
		t.Fatal("unprotected header not found")
	} else {
		unprot = append(unprot[:i:i], append([]byte{0xa1, 0x04, 0x41, 0x00}, unprot[i+1:]...)...)
	}
	add("non-empty unprotected header", "ErrMalformed", unprot)
	vs.Invalid = append(vs.Invalid, precisionVectors(t, priv, kid[:], good)...)
	return vs
}

func loadVectors(t testing.TB) vectorSet {
	b, err := os.ReadFile(vectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs vectorSet
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func TestVectors(t *testing.T) {
	if *update {
		b, err := json.MarshalIndent(generate(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(typicalFile, []byte(generate(t).Valid[0].Armored), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	vs := loadVectors(t)
	if b, err := os.ReadFile(typicalFile); err != nil || string(b) != vs.Valid[0].Armored {
		t.Fatalf("%s differs from the first valid vector: %v", typicalFile, err)
	}
	// The generator must still produce exactly the committed bytes: minting is deterministic.
	gen := generate(t)
	for i := range gen.Valid {
		if gen.Valid[i].Token != vs.Valid[i].Token {
			t.Errorf("%s: minting no longer reproduces the committed token", gen.Valid[i].Name)
		}
	}
	seed, _ := hex.DecodeString(vs.Seed)
	pub, _ := hex.DecodeString(vs.PublicKey)
	if !bytes.Equal(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), pub) {
		t.Fatal("public key does not match seed")
	}
	pk, err := license.ParsePublicKey([]byte(vs.PublicKeyFile))
	if err != nil || !bytes.Equal(pk.Key, pub) || pk.ID().String() != vs.KeyID {
		t.Fatalf("public key file: %v", err)
	}
	keys := verifier.NewKeyring(pk)
	for _, v := range vs.Valid {
		tok, _ := hex.DecodeString(v.Token)
		for form, in := range map[string][]byte{"binary": tok, "armored": []byte(v.Armored), "line": []byte(v.Line)} {
			lic, err := verifier.Verify(in, verifier.Options{Keys: keys, Product: vs.Product, Now: vs.Now})
			if err != nil {
				t.Errorf("%s (%s): %v", v.Name, form, err)
				continue
			}
			want := v.Claims
			if want.NotBefore.IsZero() {
				want.NotBefore = want.IssuedAt
			}
			gotJSON, _ := json.Marshal(lic.Claims)
			wantJSON, _ := json.Marshal(want)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("%s (%s): claims\n got %s\nwant %s", v.Name, form, gotJSON, wantJSON)
			}
		}
	}
	if len(vs.Invalid) < 18 {
		t.Fatalf("only %d invalid vectors", len(vs.Invalid))
	}
	for _, v := range vs.Invalid {
		tok, _ := hex.DecodeString(v.Token)
		now := vs.Now
		if !v.Now.IsZero() {
			now = v.Now
		}
		want, ok := vectorErrors[v.Error]
		if !ok {
			t.Fatalf("%s: unknown error name %s", v.Name, v.Error)
		}
		_, err := verifier.Verify(tok, verifier.Options{Keys: keys, Product: vs.Product, Now: now})
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %s", v.Name, err, v.Error)
		}
	}
}

// SPEC.md quotes the vectors; it must quote the committed ones.
func TestSpecQuotesVectors(t *testing.T) {
	spec, err := os.ReadFile("../SPEC.md")
	if err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(string(spec)), "")
	vs := loadVectors(t)
	for name, want := range map[string]string{"seed": vs.Seed, "public key": vs.PublicKey, "kid": vs.KeyID, "typical token": vs.Valid[0].Token} {
		if !strings.Contains(flat, want) {
			t.Errorf("SPEC.md does not quote the %s of the vectors", name)
		}
	}
	for _, v := range vs.Invalid {
		if !strings.Contains(string(spec), v.Name) {
			t.Errorf("SPEC.md does not list invalid vector %q", v.Name)
		}
	}
}
