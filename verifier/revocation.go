package verifier

import (
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

// Revocation refusals.
var (
	ErrRevoked             = errors.New("revoked")
	ErrKeyRetired          = errors.New("token issued after its signing key was retired")
	ErrRevocationRollback  = errors.New("revocation list is older than one seen before")
	ErrStaleRevocationList = errors.New("revocation list is past its next update")
	// ErrRevocationListRequired: the vendor asked for a list (Options or the
	// activation) and none was given.
	ErrRevocationListRequired = errors.New("a revocation list is required")
	// ErrRevocationListTooOld: the list was issued longer ago than allowed.
	ErrRevocationListTooOld = errors.New("revocation list is older than allowed")
)

// RevokedError names what was revoked, when and why. It matches ErrRevoked.
type RevokedError struct {
	What   string // "license", "activation" or "signing key"
	ID     string // text form
	Reason license.Reason
	At     time.Time
}

func (e *RevokedError) Error() string {
	if e.At.IsZero() { // remembered by the state file, which keeps no time
		return fmt.Sprintf("%s %s was revoked by an earlier revocation list: %s", e.What, e.ID, e.Reason)
	}
	return fmt.Sprintf("%s %s revoked on %s: %s", e.What, e.ID, e.At.Format(time.DateOnly), e.Reason)
}

func (e *RevokedError) Unwrap() error { return ErrRevoked }

// RevocationList is a verified revocation list.
type RevocationList struct {
	*license.Revocations
	KeyID       license.KeyID // the key that signed it
	compromised []license.KeyID
}

// CompromisedKeys lists the keys the list revokes for compromise, sorted.
func (rl *RevocationList) CompromisedKeys() []license.KeyID { return rl.compromised }

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
	l, err := license.ParseRevocations(m.Payload)
	if err != nil {
		return nil, err
	}
	rl := &RevocationList{Revocations: l, KeyID: kid}
	if rl.compromised, err = compromisedKeys(m.Payload, l); err != nil {
		return nil, err
	}
	if err := checkKey(keys, rl, nil, kid, l.IssuedAt); err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	return rl, nil
}

// compromisedKeys walks a list payload that license.ParseRevocationList has
// accepted to the key entries (field 5) and returns those revoked for
// compromise. It copies nothing but the matching key IDs.
func compromisedKeys(payload []byte, l *license.Revocations) ([]license.KeyID, error) {
	if _, _, n := l.Len(); n == 0 {
		return nil, nil
	}
	bad := fmt.Errorf("%w: key entries", license.ErrRevocationList)
	rd := cborx.NewReader(payload)
	if _, err := rd.Map(); err != nil {
		return nil, bad
	}
	rd.Int()
	rd.Text()
	rd.Int()
	rd.Uint()
	rd.Int()
	n, err := rd.Map()
	if err != nil {
		return nil, bad
	}
	for range n {
		k, err := rd.Int()
		if err != nil {
			return nil, bad
		}
		if k <= 2 {
			if _, err := rd.Uint(); err != nil {
				return nil, bad
			}
			continue
		}
		b, err := rd.Bytes()
		if err != nil {
			return nil, bad
		}
		if k != 5 {
			continue
		}
		const size = 8 + 4 + 1
		var out []license.KeyID
		for i := 0; i+size <= len(b); i += size {
			if license.Reason(b[i+size-1]) == license.ReasonKeyCompromise {
				out = append(out, license.KeyID(b[i:i+8]))
			}
		}
		return out, nil
	}
	return nil, bad
}

// checkKey refuses a token signed by kid at issued if the key is revoked for
// compromise (by the list, or remembered by the state file from an earlier
// list: every token), or retired (by the list or the keyring) before issued.
func checkKey(keys *Keyring, rl *RevocationList, st *state, kid license.KeyID, issued time.Time) error {
	var e license.Entry
	listed := false
	if rl != nil {
		e, listed = rl.Key(kid)
	}
	// Section 7 step 16: revoked (for any reason but retirement), by the list
	// or remembered by the state file.
	if listed && e.Reason != license.ReasonRetired {
		return &RevokedError{What: "signing key", ID: kid.String(), Reason: e.Reason, At: e.At}
	}
	if st.compromised(kid) {
		return &RevokedError{What: "signing key", ID: kid.String(), Reason: license.ReasonKeyCompromise}
	}
	// Step 17: retired before the token was issued, by the list or the keyring.
	if listed && issued.After(e.At) {
		return fmt.Errorf("%w: %s retired %s, token issued %s", ErrKeyRetired, kid, e.At.Format(time.RFC3339), issued.Format(time.RFC3339))
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
