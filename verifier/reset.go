package verifier

import (
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

// TypeStateReset is the token type of a state reset (SPEC.md section 7,
// "State reset"); its armor label is STATE RESET.
const TypeStateReset = license.TypeStateReset

const labelStateReset = armor.StateReset

// ErrStateReset is a state reset that does not apply to this verification:
// malformed, not signed by a trusted key, or for another license or device.
// The cause is wrapped too (ErrSignature, ErrUnknownKey, ...).
var ErrStateReset = errors.New("state reset refused")

// StateReset is what a vendor signs to bring back a machine whose clock once
// ran far ahead (its state file then refuses the correct time as a clock set
// back). Applied once (a reset whose IssuedAt is not after the last one
// applied changes nothing), it sets the latest time seen to LastSeen.
type StateReset struct {
	License  license.ID
	Device   [16]byte // zero: any device of the license (only for licenses without activation)
	LastSeen time.Time
	IssuedAt time.Time
}

// state-reset-claims = {
//
//	6 => time,                ; iat
//	-65537 => {
//	  1 => bstr .size 16,     ; license ID
//	  ? 2 => bstr .size 16,   ; device ID
//	  3 => time,              ; the new latest time seen, not after iat
//	}
//
// }
type wireReset struct {
	Iat uint64        `cbor:"6,keyasint"`
	SK  wireResetBody `cbor:"-65537,keyasint"`
}

type wireResetBody struct {
	License  []byte `cbor:"1,keyasint"`
	Device   []byte `cbor:"2,keyasint,omitempty"`
	LastSeen uint64 `cbor:"3,keyasint"`
}

// Marshal returns the payload of a state reset token, for the issuer to
// sign (issuer.Key.Sign(verifier.TypeStateReset, payload)).
func (r StateReset) Marshal() ([]byte, error) {
	w := wireReset{Iat: uint64(r.IssuedAt.Unix()), SK: wireResetBody{License: r.License[:], LastSeen: uint64(r.LastSeen.Unix())}}
	if r.Device != ([16]byte{}) {
		w.SK.Device = r.Device[:]
	}
	if err := w.validate(); err != nil {
		return nil, err
	}
	return cborx.Marshal(w)
}

func (w *wireReset) validate() error {
	if len(w.SK.License) != 16 || (w.SK.Device != nil && len(w.SK.Device) != 16) ||
		w.Iat == 0 || w.Iat > maxTime || w.SK.LastSeen == 0 || w.SK.LastSeen > w.Iat {
		return fmt.Errorf("%w: a state reset needs a 16-byte license ID, an optional 16-byte device ID and a latest time seen not after its issue time", license.ErrInvalidClaims)
	}
	return nil
}

// ArmorStateReset returns the armored form of a state reset token.
func ArmorStateReset(token []byte) []byte { return armor.Encode(labelStateReset, token) }

// ParseStateReset decodes a state reset payload strictly.
func ParseStateReset(payload []byte) (*StateReset, error) {
	var w wireReset
	if err := cborx.Unmarshal(payload, &w); err != nil {
		if errors.Is(err, cborx.ErrUnknownField) {
			return nil, fmt.Errorf("%w: %v", license.ErrUnknownClaim, err)
		}
		return nil, err
	}
	if err := w.validate(); err != nil {
		return nil, err
	}
	r := &StateReset{License: license.ID(w.SK.License), LastSeen: time.Unix(int64(w.SK.LastSeen), 0).UTC(), IssuedAt: time.Unix(int64(w.Iat), 0).UTC()}
	copy(r.Device[:], w.SK.Device)
	return r, nil
}

// openStateReset verifies a state reset token for this license and device
// (nil: no activation): text form, COSE profile, type, trusted signer not
// revoked for compromise (by the state or the list), signature, claims, then
// the binding. Every refusal matches ErrStateReset.
func openStateReset(token []byte, keys *Keyring, st *state, rl *RevocationList, lic license.ID, device *[16]byte) (*StateReset, error) {
	refuse := func(err error) error { return fmt.Errorf("%w: %w", ErrStateReset, err) }
	raw := token
	if armor.Is(token) {
		var err error
		if raw, err = armor.Decode(labelStateReset, token); err != nil {
			return nil, refuse(err) // another object's label: ErrWrongType
		}
	} else if len(raw) == 0 || raw[0] != 0xd2 {
		return nil, refuse(fmt.Errorf("%w: neither a binary token nor a seatkey text form", license.ErrMalformed))
	}
	m, kid, err := openToken(raw, TypeStateReset, license.MaxTokenSize, keys)
	if err != nil {
		return nil, refuse(err)
	}
	r, err := ParseStateReset(m.Payload)
	if err != nil {
		return nil, refuse(err)
	}
	if err := checkKey(keys, rl, st, kid, r.IssuedAt); err != nil {
		return nil, refuse(err)
	}
	if r.License != lic {
		return nil, refuse(fmt.Errorf("it is for license %s, not %s", r.License, lic))
	}
	if r.Device != ([16]byte{}) {
		if device == nil {
			return nil, refuse(fmt.Errorf("it is bound to device %s: give it together with the activation", license.FormatID("dev", r.Device[:])))
		}
		if *device != r.Device {
			return nil, refuse(fmt.Errorf("it is for device %s, this activation is for %s", license.FormatID("dev", r.Device[:]), license.FormatID("dev", device[:])))
		}
	}
	return r, nil
}
