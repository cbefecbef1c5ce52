package license

import (
	"errors"
	"fmt"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cose"
)

// Armor labels of the token types.
var labels = map[string]string{
	TypeLicense:    "LICENSE",
	TypeActivation: "ACTIVATION",
	TypeRevocation: "REVOCATION LIST",
}

// Armor returns the armored form of a token of the given type.
func Armor(typ string, token []byte) []byte { return armor.Encode(labels[typ], token) }

// Line returns the single-line form of a token of the given type.
func Line(typ string, token []byte) string { return armor.Line(labels[typ], token) }

// Decode returns the binary token from any of its three forms: binary (tag 18
// first), armored or a single line. typ selects the expected armor label.
func Decode(typ string, b []byte) ([]byte, error) {
	if len(b) > 0 && b[0] == 0xd2 {
		return b, nil
	}
	label, ok := labels[typ]
	if !ok {
		return nil, fmt.Errorf("%w: unknown token type %q", ErrWrongType, typ)
	}
	if !armor.Is(b) {
		if len(b) > 0 && b[0]>>5 == 6 {
			return b, nil // some other tag: let the token decoder name it
		}
		return nil, fmt.Errorf("%w: neither a binary token nor a seatkey text form", ErrMalformed)
	}
	out, err := armor.Decode(label, b)
	if errors.Is(err, armor.ErrLabel) {
		return nil, fmt.Errorf("%w: %v", ErrWrongType, err)
	}
	return out, err
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
