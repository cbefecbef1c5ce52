// Package cose implements the one COSE_Sign1 profile every seatkey token uses
// (RFC 9052): tagged (tag 18), protected header {alg: EdDSA (-8), kid, typ},
// empty unprotected header, embedded payload, Ed25519 signature, no external AAD.
// Anything else is refused; the algorithm is never taken from the token.
package cose

import (
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
)

// Header labels and the algorithm value of the profile.
const (
	LabelAlg  = 1
	LabelKID  = 4
	LabelType = 16
	AlgEdDSA  = -8
	KIDSize   = 8
	MaxSize   = armor.MaxSize // largest accepted license or activation token
)

var (
	// ErrMalformed: the bytes are not a COSE_Sign1 of the seatkey profile.
	ErrMalformed = cborx.ErrMalformed
	// ErrAlgorithm: the protected header names an algorithm other than EdDSA.
	ErrAlgorithm = errors.New("signature algorithm is not EdDSA")
	// ErrTooLarge: the token is larger than the limit given to Parse.
	ErrTooLarge = armor.ErrTooLarge
)

// Message is a parsed, not yet verified, COSE_Sign1.
type Message struct {
	Protected []byte // the protected header as signed
	KID       []byte
	Type      string
	Payload   []byte
	Signature []byte
}

type protectedHeader struct {
	Alg  int    `cbor:"1,keyasint"`
	KID  []byte `cbor:"4,keyasint"`
	Type string `cbor:"16,keyasint"`
}

// wireHeader reads a protected header without assuming the types of its
// values, so that each deviation gets the error SPEC.md gives it.
type wireHeader struct {
	Alg  cbor.RawMessage `cbor:"1,keyasint"`
	KID  cbor.RawMessage `cbor:"4,keyasint"`
	Type cbor.RawMessage `cbor:"16,keyasint"`
}

// Sign returns the tagged COSE_Sign1 of payload signed with priv.
func Sign(priv ed25519.PrivateKey, kid []byte, typ string, payload []byte) ([]byte, error) {
	if len(kid) != KIDSize {
		return nil, fmt.Errorf("cose: key ID must be %d bytes", KIDSize)
	}
	prot, err := cborx.Marshal(protectedHeader{Alg: AlgEdDSA, KID: kid, Type: typ})
	if err != nil {
		return nil, err
	}
	return SignProtected(priv, prot, payload), nil
}

// SignProtected signs with an already encoded protected header. It exists for
// tests that must produce validly signed tokens with headers outside the profile.
func SignProtected(priv ed25519.PrivateKey, prot, payload []byte) []byte {
	sig := ed25519.Sign(priv, toBeSigned(prot, payload))
	out := make([]byte, 0, 8+len(prot)+len(payload)+len(sig)+12)
	out = append(out, 0xd2, 0x84) // tag 18, array(4)
	out = appendHead(out, 2, uint64(len(prot)))
	out = append(out, prot...)
	out = append(out, 0xa0) // empty unprotected header
	out = appendHead(out, 2, uint64(len(payload)))
	out = append(out, payload...)
	out = appendHead(out, 2, uint64(len(sig)))
	out = append(out, sig...)
	return out
}

// Parse decodes a tagged COSE_Sign1 of the seatkey profile without verifying it.
func Parse(b []byte, maxSize int) (*Message, error) {
	if len(b) > maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), maxSize)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformed)
	}
	if b[0] != 0xd2 {
		if b[0]>>5 == 6 {
			return nil, fmt.Errorf("%w: outer tag is not 18 (COSE_Sign1); other wrappers such as CWT tag 61 are not accepted", ErrMalformed)
		}
		return nil, fmt.Errorf("%w: not a tagged COSE_Sign1 (tag 18)", ErrMalformed)
	}
	body := b[1:]
	if err := cborx.Check(body); err != nil {
		return nil, fmt.Errorf("COSE_Sign1: %w", err)
	}
	// Check has proven body well-formed and deterministic; read it in place.
	if body[0] != 0x84 {
		return nil, fmt.Errorf("%w: COSE_Sign1 must be an array of 4", ErrMalformed)
	}
	var m Message
	rest := body[1:]
	var ok bool
	if m.Protected, rest, ok = byteString(rest); !ok {
		return nil, fmt.Errorf("%w: protected header is not a byte string", ErrMalformed)
	}
	if len(rest) == 0 || rest[0] != 0xa0 {
		return nil, fmt.Errorf("%w: unprotected header must be empty", ErrMalformed)
	}
	if m.Payload, rest, ok = byteString(rest[1:]); !ok {
		return nil, fmt.Errorf("%w: payload must be an embedded byte string", ErrMalformed)
	}
	if m.Signature, _, ok = byteString(rest); !ok || len(m.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature must be a %d-byte string", ErrMalformed, ed25519.SignatureSize)
	}
	// SPEC.md section 7 steps 6 and 7, in this order: the header is CBOR by
	// section 2; it has no parameter but alg, kid and typ; all three are
	// present; kid is an 8-byte string and typ a non-empty text string; then
	// alg is the integer -8 (anything else, a text alg included, is ErrAlgorithm).
	if err := cborx.Check(m.Protected); err != nil {
		return nil, fmt.Errorf("protected header: %w", err)
	}
	var w wireHeader
	if err := cborx.Decode(m.Protected, &w); err != nil {
		if errors.Is(err, cborx.ErrUnknownField) {
			return nil, fmt.Errorf("%w: protected header has a parameter outside the profile (only alg, kid, typ): %v", ErrMalformed, err)
		}
		return nil, fmt.Errorf("protected header: %w", err)
	}
	if w.Alg == nil || w.KID == nil || w.Type == nil {
		return nil, fmt.Errorf("%w: protected header must have alg, kid and typ", ErrMalformed)
	}
	var h protectedHeader
	if err := cborx.DecMode.Unmarshal(w.KID, &h.KID); err != nil || w.KID[0]>>5 != 2 || len(h.KID) != KIDSize {
		return nil, fmt.Errorf("%w: key ID (kid) must be a byte string of %d bytes", ErrMalformed, KIDSize)
	}
	if err := cborx.DecMode.Unmarshal(w.Type, &h.Type); err != nil || w.Type[0]>>5 != 3 || h.Type == "" {
		return nil, fmt.Errorf("%w: token type (typ) must be a non-empty text string", ErrMalformed)
	}
	if len(w.Alg) != 1 || w.Alg[0] != 0x27 { // 0x27 is -8
		return nil, fmt.Errorf("%w: alg %s", ErrAlgorithm, diag(w.Alg))
	}
	m.KID, m.Type = h.KID, h.Type
	return &m, nil
}

// Verify reports whether the signature is valid for pub.
func (m *Message) Verify(pub ed25519.PublicKey) bool {
	return ed25519.Verify(pub, toBeSigned(m.Protected, m.Payload), m.Signature)
}

// toBeSigned is Sig_structure: ["Signature1", protected, empty external AAD, payload].
func toBeSigned(prot, payload []byte) []byte {
	out := make([]byte, 0, 16+len(prot)+len(payload)+9)
	out = append(out, 0x84, 0x6a)
	out = append(out, "Signature1"...)
	out = appendHead(out, 2, uint64(len(prot)))
	out = append(out, prot...)
	out = append(out, 0x40)
	out = appendHead(out, 2, uint64(len(payload)))
	return append(out, payload...)
}

// byteString splits a byte string off the front of b, which Check has already
// proven well-formed.
func byteString(b []byte) (s, rest []byte, ok bool) {
	if len(b) == 0 || b[0]>>5 != 2 {
		return nil, nil, false
	}
	ai := b[0] & 0x1f
	n, hl := uint64(ai), 1
	if ai >= 24 && ai <= 27 {
		hl = 1 + 1<<(ai-24)
		if len(b) < hl {
			return nil, nil, false
		}
		n = 0
		for _, c := range b[1:hl] {
			n = n<<8 | uint64(c)
		}
	} else if ai > 27 {
		return nil, nil, false
	}
	if n > uint64(len(b)-hl) {
		return nil, nil, false
	}
	return b[hl : hl+int(n)], b[hl+int(n):], true
}

func appendHead(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= 0xff:
		return append(b, m|24, byte(n))
	case n <= 0xffff:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= 0xffffffff:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	default:
		return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// diag shows a short CBOR value in an error.
func diag(b []byte) string {
	var v any
	if err := cborx.DecMode.Unmarshal(b, &v); err != nil || len(b) > 64 {
		return fmt.Sprintf("h'%x'", b)
	}
	return fmt.Sprintf("%#v", v)
}
