// Package license defines seatkey's license token: the claims a vendor signs,
// their CBOR encoding, the token's text forms and the vendor's public key file.
//
// A token is a tagged COSE_Sign1 (RFC 9052) signed with Ed25519, whose payload
// is a CWT claims set (RFC 8392):
//
//	18([ << {1: -8, 4: kid, 16: "application/seatkey-license"} >>, {}, << claims >>, signature ])
//
// Standard claims carry the vendor (iss), customer (sub), product (aud), issue
// time (iat), validity (nbf, exp) and the license ID (cti); the private claim
// -65537 carries edition, features, seats, failover, kind, upgrade protection
// and the licensed major version. Every byte is in deterministic encoding and
// decoders refuse anything else. SPEC.md is the normative description.
//
// This package encodes and decodes; it does not decide whether a license is
// valid. That is package verifier's job, which needs only a public key.
package license

import (
	"errors"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/internal/cose"
)

// Token types, carried in the protected header (typ, label 16), so that one
// kind of seatkey token can never be accepted as another.
const (
	TypeLicense    = "application/seatkey-license"
	TypeActivation = "application/seatkey-activation"
	TypeRevocation = "application/seatkey-revocation"
)

// Errors for bytes that are not a well-formed license, public key or text form.
// The specific CBOR errors all match ErrMalformed as well.
var (
	ErrMalformed     = cborx.ErrMalformed
	ErrNonCanonical  = cborx.ErrNonCanonical
	ErrIndefinite    = cborx.ErrIndefinite
	ErrDuplicateKey  = cborx.ErrDuplicateKey
	ErrTrailing      = cborx.ErrTrailing
	ErrAlgorithm     = cose.ErrAlgorithm
	ErrTooLarge      = cose.ErrTooLarge
	ErrArmor         = armor.ErrArmor
	ErrWrongType     = errors.New("wrong token type")
	ErrUnknownClaim  = errors.New("unknown claim")
	ErrInvalidClaims = errors.New("invalid claims")
	ErrBadID         = errors.New("malformed ID")
	ErrBadKey        = errors.New("malformed public key")
)

// MaxTokenSize is the largest token, in binary form, any decoder accepts.
const MaxTokenSize = cose.MaxSize
