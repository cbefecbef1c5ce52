// Package activation defines the two files that bind a license to a machine:
// the request a device writes (its license, fingerprint, a label and a nonce)
// and the activation token the vendor signs in return (license ID, device ID,
// the enrolled fingerprint and the matching policy). SPEC.md section 10 is the
// normative description. Both the device side and the issuer use this package.
package activation

import (
	"crypto/rand"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

// ErrBadRequest is a request that is well-formed CBOR but breaks a rule of
// SPEC.md section 10.1. Bad CBOR is license.ErrMalformed, and bad activation
// claims license.ErrInvalidClaims, as for licenses.
var ErrBadRequest = errors.New("invalid activation request")

// MaxRequestSize bounds a request in binary form.
const MaxRequestSize = 64 << 10

// MaxLabel is the longest device label, in bytes.
const MaxLabel = 128

const labelRequest = armor.ActivationRequest

// DeviceID and ID identify a device and an activation; text forms dev_ and act_.
type (
	DeviceID [16]byte
	ID       [16]byte
)

func (d DeviceID) String() string               { return license.FormatID("dev", d[:]) }
func (a ID) String() string                     { return license.FormatID("act", a[:]) }
func (d DeviceID) MarshalText() ([]byte, error) { return []byte(d.String()), nil }
func (a ID) MarshalText() ([]byte, error)       { return []byte(a.String()), nil }

// ParseDeviceID parses "dev_...".
func ParseDeviceID(s string) (DeviceID, error) {
	var d DeviceID
	b, err := license.ParseIDBytes("dev", s, len(d))
	copy(d[:], b)
	return d, err
}

// ParseID parses "act_...".
func ParseID(s string) (ID, error) {
	var a ID
	b, err := license.ParseIDBytes("act", s, len(a))
	copy(a[:], b)
	return a, err
}

// NewDeviceID and NewID return random identifiers.
func NewDeviceID() (d DeviceID) { rand.Read(d[:]); return }
func NewID() (a ID)             { rand.Read(a[:]); return }

// Request is what a device sends to be activated. It is not signed: the
// issuer treats every field as untrusted, and the license inside must verify.
type Request struct {
	License     []byte // the license token, binary
	Fingerprint *fingerprint.Fingerprint
	Label       string
	Nonce       [16]byte
	Created     time.Time
	Failover    bool // asks for one of the license's failover installations
	// Attestation binds the request to the machine's TPM (SPEC.md section
	// 13); nil: no TPM proof of possession.
	Attestation *Attestation
}

type wireRequest struct {
	License     []byte           `cbor:"1,keyasint"`
	Fingerprint cbor.RawMessage  `cbor:"2,keyasint"`
	Label       string           `cbor:"3,keyasint"`
	Nonce       []byte           `cbor:"4,keyasint"`
	Created     uint64           `cbor:"5,keyasint"`
	Failover    bool             `cbor:"6,keyasint,omitempty"`
	Attestation *wireAttestation `cbor:"7,keyasint,omitempty"`
}

// NewRequest builds a request for this machine with a fresh nonce.
func NewRequest(licenseToken []byte, fp *fingerprint.Fingerprint, label string, failover bool) (*Request, error) {
	raw, err := license.Decode(license.TypeLicense, licenseToken)
	if err != nil {
		return nil, err
	}
	r := &Request{License: raw, Fingerprint: fp, Label: label, Created: time.Now().UTC().Truncate(time.Second), Failover: failover}
	rand.Read(r.Nonce[:])
	return r, r.validate()
}

func (r *Request) validate() error {
	if r.Label == "" || len(r.Label) > MaxLabel || !utf8.ValidString(r.Label) {
		return fmt.Errorf("%w: label must be 1 to %d bytes of UTF-8", ErrBadRequest, MaxLabel)
	}
	if r.Fingerprint == nil || r.Created.Unix() <= 0 || len(r.License) == 0 {
		return fmt.Errorf("%w: license, fingerprint and time are required", ErrBadRequest)
	}
	return nil
}

// MarshalBinary returns the deterministic CBOR form.
func (r *Request) MarshalBinary() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	fp, err := r.Fingerprint.MarshalBinary()
	if err != nil {
		return nil, err
	}
	att, err := r.Attestation.wire()
	if err != nil {
		return nil, err
	}
	return cborx.Marshal(wireRequest{License: r.License, Fingerprint: fp, Label: r.Label, Nonce: r.Nonce[:], Created: uint64(r.Created.Unix()), Failover: r.Failover, Attestation: att})
}

// Armor returns the armored request file.
func (r *Request) Armor() ([]byte, error) {
	b, err := r.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return armor.Encode(labelRequest, b), nil
}

// ParseRequest strictly decodes a request in binary or armored form. It
// checks the form only; the license inside is not verified here.
func ParseRequest(b []byte) (*Request, error) {
	if armor.Is(b) {
		var err error
		if b, err = armor.Decode(labelRequest, b); err != nil {
			return nil, fmt.Errorf("activation request: %w", err)
		}
	}
	if len(b) > MaxRequestSize {
		return nil, fmt.Errorf("activation request: %w: larger than %d bytes", license.ErrTooLarge, MaxRequestSize)
	}
	var w wireRequest
	if err := cborx.Decode(b, &w); err != nil {
		return nil, fmt.Errorf("activation request: %w", err)
	}
	if k, missing := cborx.Missing(b, []int64{1, 2, 3, 4, 5}, nil); missing {
		return nil, fmt.Errorf("%w: field %s is missing", ErrBadRequest, k)
	}
	if err := cborx.Canonical(b, &w); err != nil {
		return nil, fmt.Errorf("activation request: %w", err)
	}
	if len(w.Nonce) != 16 || w.Created == 0 || w.Created > 253402300799 || len(w.License) == 0 || len(w.License) > license.MaxTokenSize {
		return nil, fmt.Errorf("%w: nonce, time or license out of range", ErrBadRequest)
	}
	if w.Label == "" || len(w.Label) > MaxLabel {
		return nil, fmt.Errorf("%w: label must be 1 to %d bytes of UTF-8", ErrBadRequest, MaxLabel)
	}
	fp, err := fingerprint.ParseFingerprint(w.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("activation request: %w", err)
	}
	r := &Request{License: w.License, Fingerprint: fp, Label: w.Label, Created: time.Unix(int64(w.Created), 0).UTC(), Failover: w.Failover}
	copy(r.Nonce[:], w.Nonce)
	if a := w.Attestation; a != nil {
		r.Attestation = &Attestation{AK: a.AK, EK: a.EK, EKCert: a.EKCert, Handle: a.Handle}
		if err := r.Attestation.check(); err != nil {
			return nil, err
		}
	}
	return r, r.validate()
}

// Claims is what an activation token says.
type Claims struct {
	ID          ID
	License     license.ID
	Device      DeviceID
	IssuedAt    time.Time
	Expires     time.Time                // zero: never
	Fingerprint *fingerprint.Fingerprint // enrolled; its scope is the product
	Policy      *fingerprint.Policy      // nil: fingerprint.DefaultPolicy
	Overage     bool                     // the device is beyond the license's seats
	Failover    bool                     // a failover installation
	// MaxListAgeDays, when not zero, makes the verifier refuse this
	// activation without a revocation list issued at most that many days ago.
	MaxListAgeDays uint
	// Credential, when not nil, binds the activation to one TPM: the
	// verifier has that TPM open it and sign a fresh nonce (SPEC.md 13).
	Credential *Credential
}

// MaxListAgeDays bounds Claims.MaxListAgeDays (ten years).
const MaxListAgeDays = 3650

type wireClaims struct {
	Exp uint64      `cbor:"4,keyasint,omitempty"`
	Iat uint64      `cbor:"6,keyasint"`
	Cti []byte      `cbor:"7,keyasint"`
	SK  wireSeatkey `cbor:"-65537,keyasint"`
}

type wireSeatkey struct {
	License     []byte          `cbor:"1,keyasint"`
	Device      []byte          `cbor:"2,keyasint"`
	Fingerprint cbor.RawMessage `cbor:"3,keyasint"`
	Policy      cbor.RawMessage `cbor:"4,keyasint,omitempty"`
	Overage     bool            `cbor:"5,keyasint,omitempty"`
	Failover    bool            `cbor:"6,keyasint,omitempty"`
	MaxListAge  uint64          `cbor:"7,keyasint,omitempty"`
	Credential  *wireCredential `cbor:"8,keyasint,omitempty"`
}

// Marshal returns the payload of an activation token. A policy equal to the
// default is omitted.
func (c Claims) Marshal() ([]byte, error) {
	if c.Fingerprint == nil || c.IssuedAt.Unix() <= 0 {
		return nil, fmt.Errorf("%w: fingerprint and issue time are required", license.ErrInvalidClaims)
	}
	if err := hardwareOnly(c.Fingerprint); err != nil {
		return nil, err
	}
	fp, err := c.Fingerprint.MarshalBinary()
	if err != nil {
		return nil, err
	}
	w := wireClaims{Iat: uint64(c.IssuedAt.Unix()), Cti: c.ID[:], SK: wireSeatkey{License: c.License[:], Device: c.Device[:], Fingerprint: fp, Overage: c.Overage, Failover: c.Failover, MaxListAge: uint64(c.MaxListAgeDays)}}
	if c.MaxListAgeDays > MaxListAgeDays {
		return nil, fmt.Errorf("%w: maximum list age over %d days", license.ErrInvalidClaims, MaxListAgeDays)
	}
	if !c.Expires.IsZero() {
		w.Exp = uint64(c.Expires.Unix())
	}
	if c.Policy != nil && *c.Policy != fingerprint.DefaultPolicy {
		if w.SK.Policy, err = c.Policy.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	if cr := c.Credential; cr != nil {
		if err := cr.check(); err != nil {
			return nil, fmt.Errorf("%w: %v", license.ErrInvalidClaims, err)
		}
		w.SK.Credential = &wireCredential{Blob: cr.Blob, Secret: cr.Secret, Commitment: cr.Commitment[:], AK: cr.AKPoint, Handle: cr.Handle}
	}
	return cborx.Marshal(w)
}

// claimKeys are the keys activation-claims defines (SPEC.md section 10.2).
var claimKeys = &cborx.Keys{
	Defined: []int64{4, 6, 7, license.ClaimSeatkey},
	Nested: map[int64]*cborx.Keys{license.ClaimSeatkey: {Defined: []int64{1, 2, 3, 4, 5, 6, 7, 8},
		Nested: map[int64]*cborx.Keys{8: {Defined: []int64{1, 2, 3, 4, 5}}}}},
}

// ParseClaims strictly decodes an activation token's payload, checking in
// the order SPEC.md section 10.2 gives: CBOR rules, unknown claim keys
// (license.ErrUnknownClaim), value types (license.ErrMalformed), values that
// must be omitted (license.ErrNonCanonical), required fields and bounds
// (license.ErrInvalidClaims), then the enrolled fingerprint (section 9.3,
// license.ErrMalformed; hardware components only, else ErrInvalidClaims) and
// the policy (section 9.4).
func ParseClaims(b []byte) (*Claims, error) {
	if err := cborx.Check(b); err != nil {
		return nil, fmt.Errorf("activation claims: %w", err)
	}
	if k, found := cborx.UnknownKey(b, claimKeys); found {
		return nil, fmt.Errorf("%w: activation claim key %s", license.ErrUnknownClaim, k)
	}
	var w wireClaims
	if err := cborx.DecMode.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("activation claims: %w: a value of the wrong type: %v", license.ErrMalformed, err)
	}
	if k, missing := cborx.Missing(b, []int64{6, 7, license.ClaimSeatkey}, map[int64][]int64{license.ClaimSeatkey: {1, 2, 3}}); missing {
		return nil, fmt.Errorf("%w: required activation claim %s is missing", license.ErrInvalidClaims, k)
	}
	if err := cborx.Canonical(b, &w); err != nil {
		return nil, fmt.Errorf("activation claims: %w", err)
	}
	if len(w.Cti) != 16 || len(w.SK.License) != 16 || len(w.SK.Device) != 16 || w.Iat > 253402300799 || w.Exp > 253402300799 || (w.Exp != 0 && w.Exp <= w.Iat) || w.SK.MaxListAge > MaxListAgeDays {
		return nil, fmt.Errorf("%w: activation IDs or times out of range", license.ErrInvalidClaims)
	}
	fp, err := fingerprint.ParseFingerprint(w.SK.Fingerprint)
	if err != nil {
		return nil, fmt.Errorf("activation claims: %w", err)
	}
	if err := hardwareOnly(fp); err != nil {
		return nil, err
	}
	c := &Claims{Fingerprint: fp, IssuedAt: time.Unix(int64(w.Iat), 0).UTC(), Overage: w.SK.Overage, Failover: w.SK.Failover, MaxListAgeDays: uint(w.SK.MaxListAge)}
	if w.Exp != 0 {
		c.Expires = time.Unix(int64(w.Exp), 0).UTC()
	}
	copy(c.ID[:], w.Cti)
	copy(c.License[:], w.SK.License)
	copy(c.Device[:], w.SK.Device)
	if cr := w.SK.Credential; cr != nil {
		if len(cr.Commitment) != 32 {
			return nil, fmt.Errorf("%w: credential commitment must be 32 bytes", license.ErrInvalidClaims)
		}
		c.Credential = &Credential{Blob: cr.Blob, Secret: cr.Secret, AKPoint: cr.AK, Handle: cr.Handle}
		copy(c.Credential.Commitment[:], cr.Commitment)
		if err := c.Credential.check(); err != nil {
			return nil, fmt.Errorf("%w: %v", license.ErrInvalidClaims, err)
		}
	}
	if w.SK.Policy != nil {
		if c.Policy, err = fingerprint.ParsePolicy(w.SK.Policy); err != nil {
			return nil, fmt.Errorf("activation claims: %w", err)
		}
		if *c.Policy == fingerprint.DefaultPolicy {
			return nil, fmt.Errorf("activation claims: %w: the default policy must be omitted", cborx.ErrNonCanonical)
		}
	}
	return c, nil
}

// hardwareOnly refuses an enrolled fingerprint with software components
// (hostname, domain, machine-id): SPEC.md section 10.2 enrolls hardware only.
func hardwareOnly(f *fingerprint.Fingerprint) error {
	for _, c := range fingerprint.Components() {
		if c.Class() == fingerprint.Software && len(f.Components[c]) > 0 {
			return fmt.Errorf("%w: the enrolled fingerprint has the software component %s", license.ErrInvalidClaims, c)
		}
	}
	return nil
}

// EffectivePolicy is the policy the verifier applies.
func (c *Claims) EffectivePolicy() *fingerprint.Policy {
	if c.Policy != nil {
		return c.Policy
	}
	p := fingerprint.DefaultPolicy
	return &p
}
