package license

import (
	"fmt"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/internal/cose"
)

// Armor labels of the token types.
var labels = map[string]string{
	TypeLicense:    armor.License,
	TypeActivation: armor.Activation,
	TypeRevocation: armor.RevocationList,
	TypeStateReset: armor.StateReset,
}

// Armor returns the armored form of a token of the given type.
func Armor(typ string, token []byte) []byte { return armor.Encode(labels[typ], token) }

// Line returns the single-line form of a token of the given type.
func Line(typ string, token []byte) string { return armor.Line(labels[typ], token) }

// Decode returns the binary token from any of its three forms: binary, armored
// or a single line (SPEC.md section 6). typ selects the expected armor label;
// text of another known label is ErrWrongType, of an unknown label ErrArmor,
// and text that decodes to more than the type allows ErrTooLarge. Binary input
// is returned as it is: the token decoder checks it.
func Decode(typ string, b []byte) ([]byte, error) {
	label, ok := labels[typ]
	if !ok {
		return nil, fmt.Errorf("%w: unknown token type %q", ErrWrongType, typ)
	}
	if !armor.Is(b) {
		return b, nil
	}
	return armor.Decode(label, b)
}

// Sniff tells which kind of seatkey object b holds, in any form, without
// verifying it: the armor label of a text form, or for a binary form the
// label its content implies (a token's type in its protected header; a
// COSE_Key is a PUBLIC KEY; a map whose key 1 is text a FINGERPRINT, whose
// key 1 is a byte string an ACTIVATION REQUEST). Tools such as inspect use
// it to accept every form of every file. Text with an unknown label is
// ErrArmor; binary that is none of these is ErrMalformed.
func Sniff(b []byte) (label string, err error) {
	if armor.Is(b) {
		return armor.Label(b)
	}
	if len(b) == 0 {
		return "", fmt.Errorf("%w: empty input", ErrMalformed)
	}
	if b[0] == 0xd2 {
		m, err := cose.Parse(b, armor.MaxRevocationListSize)
		if err != nil {
			return "", err
		}
		if l, ok := labels[m.Type]; ok {
			return l, nil
		}
		return "", fmt.Errorf("%w: unknown token type %q", ErrWrongType, m.Type)
	}
	if len(b) > armor.MaxSize {
		return "", fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))
	}
	if err := cborx.Check(b); err != nil {
		return "", err
	}
	r := cborx.NewReader(b)
	if _, err := r.Map(); err == nil {
		if k, err := r.Int(); err == nil && k == 1 && len(b) > r.Offset() {
			switch b[r.Offset()] >> 5 {
			case 0:
				return armor.PublicKey, nil // kty
			case 2:
				return armor.ActivationRequest, nil // the license token
			case 3:
				return armor.Fingerprint, nil // the scope
			}
		}
	}
	return "", fmt.Errorf("%w: not a seatkey object", ErrMalformed)
}

// Token is a parsed, unverified license token. Use package verifier to decide
// whether to trust it; Token is for tools that show what a file says.
type Token struct {
	KeyID  KeyID
	Type   string
	Claims Claims
	Size   int // bytes in binary form
}

// Inspect parses a license token in any form without verifying its signature.
func Inspect(b []byte) (*Token, error) {
	raw, err := Decode(TypeLicense, b)
	if err != nil {
		return nil, err
	}
	m, err := cose.Parse(raw, MaxTokenSize)
	if err != nil {
		return nil, err
	}
	if m.Type != TypeLicense {
		return nil, fmt.Errorf("%w: %q, want %q", ErrWrongType, m.Type, TypeLicense)
	}
	c, err := ParseClaims(m.Payload)
	if err != nil {
		return nil, err
	}
	t := &Token{Type: m.Type, Claims: c, Size: len(raw)}
	copy(t.KeyID[:], m.KID)
	return t, nil
}
