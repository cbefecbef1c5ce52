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
	TypeStateReset = "application/seatkey-state-reset" // see package verifier
)

// Errors for bytes that are not a well-formed license, public key or text form.
//
// ErrMalformed is the one error for CBOR that breaks SPEC.md section 2 or a
// structure of the wrong shape, in any seatkey format; the specific CBOR
// errors (ErrNonCanonical, ErrIndefinite, ErrDuplicateKey, ErrTrailing) all
// match it as well. Errors about the text forms (ErrArmor, ErrWrongType,
// ErrTooLarge) do not: text that is not a seatkey text form is not bad CBOR.
var (
	ErrMalformed    = cborx.ErrMalformed
	ErrNonCanonical = cborx.ErrNonCanonical
	ErrIndefinite   = cborx.ErrIndefinite
	ErrDuplicateKey = cborx.ErrDuplicateKey
	ErrTrailing     = cborx.ErrTrailing

	ErrAlgorithm = cose.ErrAlgorithm
	ErrArmor     = armor.ErrArmor
	// ErrWrongType: an object of another kind, by armor label or token type.
	ErrWrongType = armor.ErrWrongType
	// ErrTooLarge: larger than its type allows, in any form.
	ErrTooLarge = armor.ErrTooLarge

	ErrUnknownClaim  = errors.New("unknown claim")
	ErrInvalidClaims = errors.New("invalid claims")
	// ErrBadID: text that is not an identifier of the kind expected
	// (lic_, key_, act_, dev_; SPEC.md section 6).
	ErrBadID = errors.New("malformed ID")
	// ErrBadKey: anything wrong in a public key file.
	ErrBadKey = errors.New("malformed public key")
)

// MaxFileSize is the most a program needs to read of any seatkey file, in any
// form: the armored form of the largest revocation list (64 MiB in binary).
// Tools that read customer files should stop there rather than at a smaller
// cap, or they refuse lists this package accepts.
const MaxFileSize = maxB64 + 2*(maxB64+63)/64 + 8192

const maxB64 = (armor.MaxRevocationListSize + 2) / 3 * 4

// MaxTokenSize is the largest token, in binary form, any decoder accepts.
const MaxTokenSize = cose.MaxSize
