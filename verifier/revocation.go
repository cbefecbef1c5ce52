package verifier

import (
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/license"
)

// Revocation refusals.
var (
	ErrRevoked             = errors.New("revoked")
	ErrKeyRetired          = errors.New("token issued after its signing key was retired")
	ErrRevocationRollback  = errors.New("revocation list is older than one seen before")
	ErrStaleRevocationList = errors.New("revocation list is past its next update")
)

// RevokedError names what was revoked, when and why. It matches ErrRevoked.
type RevokedError struct {
	What   string // "license", "activation" or "signing key"
	ID     string // text form
	Reason license.Reason
	At     time.Time
}

func (e *RevokedError) Error() string {
	return fmt.Sprintf("%s %s revoked on %s: %s", e.What, e.ID, e.At.Format(time.DateOnly), e.Reason)
}

func (e *RevokedError) Unwrap() error { return ErrRevoked }

// RevocationList is a verified revocation list.
type RevocationList struct {
	*license.RevocationList
	KeyID license.KeyID // the key that signed it
}

// ParseRevocationList verifies a revocation list token (any text form)
// against the trusted keys: its type, its signer (trusted, and neither
// revoked nor retired by the list itself or the keyring), its signature and
// its strict encoding.
func ParseRevocationList(token []byte, keys *Keyring) (*RevocationList, error) {
	if keys == nil || keys.Len() == 0 {
		return nil, ErrNoKeys
	}
	m, kid, err := openToken(token, license.TypeRevocation, license.MaxRevocationSize, keys)
	if err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	l, err := license.ParseRevocationList(m.Payload)
	if err != nil {
		return nil, err
	}
	rl := &RevocationList{RevocationList: l, KeyID: kid}
	if err := checkKey(keys, rl, kid, l.IssuedAt); err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	return rl, nil
}

// checkKey refuses a token signed by kid at issued if the key is revoked for
// compromise (every token), or retired (by the list or the keyring) before issued.
func checkKey(keys *Keyring, rl *RevocationList, kid license.KeyID, issued time.Time) error {
	if rl != nil {
		if e, ok := rl.Key(kid); ok {
			if e.Reason != license.ReasonRetired {
				return &RevokedError{What: "signing key", ID: kid.String(), Reason: e.Reason, At: e.At}
			}
			if issued.After(e.At) {
				return fmt.Errorf("%w: %s retired %s, token issued %s", ErrKeyRetired, kid, e.At.Format(time.RFC3339), issued.Format(time.RFC3339))
			}
		}
	}
	if at, ok := keys.retired[kid]; ok && issued.After(at) {
		return fmt.Errorf("%w: %s retired %s, token issued %s", ErrKeyRetired, kid, at.Format(time.RFC3339), issued.Format(time.RFC3339))
	}
	return nil
}

// Retire marks a trusted key as retired at t: tokens it signs with a later
// issue time are refused, earlier ones stay valid. (A compromised key is
// revoked instead, through a revocation list.)
func (kr *Keyring) Retire(id license.KeyID, t time.Time) {
	if kr.retired == nil {
		kr.retired = map[license.KeyID]time.Time{}
	}
	kr.retired[id] = t
}
