package verifier_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/license"
)

// Error names the precision vectors use beyond those of vectors_test.go.
func init() {
	vectorErrors["ErrArmor"] = license.ErrArmor
	vectorErrors["ErrTooLarge"] = license.ErrTooLarge
}

// precisionVectors are the invalid license vectors that pin down what SPEC.md
// sections 2 to 7 decide where two readings of the text could differ: check
// order inside the CBOR validator, keys before types before omitted defaults
// before bounds, the caps, the protected header, and the text forms. Each is
// validly signed, so only the flaw it names can refuse it.
func precisionVectors(t *testing.T, priv ed25519.PrivateKey, kid []byte, good []byte) []invalidVector {
	c := typicalClaims()
	claims := func(edit func(top, sk map[int]any)) []byte {
		sk := map[int]any{1: c.Edition, 2: c.Features, 3: c.Seats, 4: c.Failover, 5: int(c.Kind), 7: c.Major}
		top := map[int]any{1: c.Vendor, 2: c.Customer, 3: c.Product, 4: c.Expires.Unix(), 6: c.IssuedAt.Unix(), 7: c.ID[:], license.ClaimSeatkey: sk}
		if edit != nil {
			edit(top, sk)
		}
		b, err := cborx.Marshal(top)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	payload, _ := c.Marshal()
	if !bytes.Equal(claims(nil), payload) {
		t.Fatal("the map form of the typical claims no longer encodes like Claims.Marshal")
	}
	header := func(m map[int]any) []byte {
		b, err := cborx.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	prot := header(map[int]any{1: -8, 4: kid, 16: license.TypeLicense})
	signed := func(p []byte) []byte { return cose.SignProtected(priv, prot, p) }
	var out []invalidVector
	add := func(name, errName string, tok []byte) {
		out = append(out, invalidVector{Name: name, Token: hex.EncodeToString(tok), Error: errName})
	}

	// §2: the validator reads in order and compares each map key with the
	// previous one only, so a repeated key that is not adjacent is unsorted.
	iss, sub, aud := payload[1:16], payload[16:29], payload[29:40]
	if sub[0] != 0x02 || aud[0] != 0x03 || payload[40] != 0x04 {
		t.Fatalf("typical payload layout changed: % x", payload[:41])
	}
	late := append([]byte{0xa8}, iss...)
	late = append(append(append(late, sub...), aud...), iss...)
	late = append(late, payload[40:]...)
	add("key 1 again after key 3: unsorted before duplicate", "ErrNonCanonical", signed(late))

	// §4: the order is keys, then types, then omitted defaults, then bounds.
	add("seats as a text string", "ErrMalformed", signed(claims(func(_, sk map[int]any) { sk[3] = "25" })))
	add("aud as a byte string and an unknown claim: the unknown claim decides", "ErrUnknownClaim",
		signed(claims(func(top, _ map[int]any) { top[3] = []byte(c.Product); top[-65538] = true })))
	add("unknown key 9 in the seatkey claims", "ErrUnknownClaim", signed(claims(func(_, sk map[int]any) { sk[9] = 1 })))
	add("major 0 written out", "ErrNonCanonical", signed(claims(func(_, sk map[int]any) { sk[7] = 0 })))
	add("failover 0 written out", "ErrNonCanonical", signed(claims(func(_, sk map[int]any) { sk[4] = 0 })))
	add("upgrade protection 0 written out", "ErrNonCanonical", signed(claims(func(_, sk map[int]any) { sk[6] = 0 })))
	add("zero seats and major 0 written out: the omitted default decides", "ErrNonCanonical",
		signed(claims(func(_, sk map[int]any) { sk[3] = 0; sk[7] = 0 })))
	add("iat missing", "ErrInvalidClaims", signed(claims(func(top, _ map[int]any) { delete(top, 6) })))
	add("empty iss", "ErrInvalidClaims", signed(claims(func(top, _ map[int]any) { top[1] = "" })))
	add("cti of 15 bytes", "ErrInvalidClaims", signed(claims(func(top, _ map[int]any) { top[7] = c.ID[:15] })))
	add("all-zero license ID", "ErrInvalidClaims", signed(claims(func(top, _ map[int]any) { top[7] = make([]byte, 16) })))
	add("seats 2^31", "ErrInvalidClaims", signed(claims(func(_, sk map[int]any) { sk[3] = uint64(1 << 31) })))
	add("failover 2^31", "ErrInvalidClaims", signed(claims(func(_, sk map[int]any) { sk[4] = uint64(1 << 31) })))
	add("major 2^31", "ErrInvalidClaims", signed(claims(func(_, sk map[int]any) { sk[7] = uint64(1 << 31) })))

	// §3: the protected header's shape (step 6) before its alg (step 7).
	withHeader := func(m map[int]any) []byte { return cose.SignProtected(priv, header(m), payload) }
	add(`text alg "EdDSA"`, "ErrAlgorithm", withHeader(map[int]any{1: "EdDSA", 4: kid, 16: license.TypeLicense}))
	add("protected header without alg", "ErrMalformed", withHeader(map[int]any{4: kid, 16: license.TypeLicense}))
	add("protected header without kid", "ErrMalformed", withHeader(map[int]any{1: -8, 16: license.TypeLicense}))
	add("protected header without typ", "ErrMalformed", withHeader(map[int]any{1: -8, 4: kid}))
	add("kid of 7 bytes and alg -7: the header's shape decides", "ErrMalformed", withHeader(map[int]any{1: -7, 4: kid[:7], 16: license.TypeLicense}))

	// §6: text forms. These vectors' tokens are the bytes of the text.
	armored := string(license.Armor(license.TypeLicense, good))
	add("armored with the unknown label LICENCE", "ErrArmor", []byte(strings.ReplaceAll(armored, "SEATKEY LICENSE", "SEATKEY LICENCE")))
	add("armored as a PUBLIC KEY", "ErrWrongType", []byte(strings.ReplaceAll(armored, "SEATKEY LICENSE", "SEATKEY PUBLIC KEY")))
	line := license.Line(license.TypeLicense, good)
	add("single line with a line break inside", "ErrArmor", []byte(line[:100]+"\n"+line[100:]))
	add("single line with white space inside", "ErrArmor", []byte(line[:100]+" "+line[100:]))
	add("single line decoding to 65,537 bytes", "ErrTooLarge", []byte("seatkey-license:"+strings.Repeat("A", 87383)))
	return out
}
