package cose

import (
	"crypto/ed25519"
	"errors"
	"testing"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
)

// The protected header is checked in SPEC.md's order: CBOR, parameters
// outside the profile, missing parameters, kid and typ, then alg.
func TestHeaderOrder(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	kid := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	hdr := func(m map[int]any) []byte {
		b, err := cborx.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const typ = "application/seatkey-license"
	for _, tc := range []struct {
		name string
		prot []byte
		want error // nil: accepted
	}{
		{"profile", hdr(map[int]any{1: -8, 4: kid, 16: typ}), nil},
		{"alg -7", hdr(map[int]any{1: -7, 4: kid, 16: typ}), ErrAlgorithm},
		{"text alg", hdr(map[int]any{1: "EdDSA", 4: kid, 16: typ}), ErrAlgorithm},
		{"alg -19", hdr(map[int]any{1: -19, 4: kid, 16: typ}), ErrAlgorithm},
		{"no alg", hdr(map[int]any{4: kid, 16: typ}), cborx.ErrMalformed},
		{"no kid, alg -7", hdr(map[int]any{1: -7, 16: typ}), cborx.ErrMalformed},
		{"no typ", hdr(map[int]any{1: -8, 4: kid}), cborx.ErrMalformed},
		{"kid as text", hdr(map[int]any{1: -8, 4: "12345678", 16: typ}), cborx.ErrMalformed},
		{"kid of 9 bytes", hdr(map[int]any{1: -8, 4: append(kid, 9), 16: typ}), cborx.ErrMalformed},
		{"typ as bytes", hdr(map[int]any{1: -8, 4: kid, 16: []byte(typ)}), cborx.ErrMalformed},
		{"empty typ", hdr(map[int]any{1: -8, 4: kid, 16: ""}), cborx.ErrMalformed},
		{"crit and alg -7", hdr(map[int]any{1: -7, 2: []int{1}, 4: kid, 16: typ}), cborx.ErrMalformed},
		{"unsorted header", []byte{0xa3, 0x04, 0x48, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0x27, 0x10, 0x61, 0x78}, cborx.ErrNonCanonical},
	} {
		_, err := Parse(SignProtected(priv, tc.prot, []byte{0xa0}), MaxSize)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if tc.want == cborx.ErrMalformed && errors.Is(err, ErrAlgorithm) {
			t.Errorf("%s: the shape must decide before alg: %v", tc.name, err)
		}
	}
	if _, err := Parse(make([]byte, MaxSize+1), MaxSize); !errors.Is(err, armor.ErrTooLarge) {
		t.Errorf("too large: %v", err)
	}
}
