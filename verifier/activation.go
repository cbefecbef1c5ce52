package verifier

import (
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
)

// Refusals of an activation.
var (
	ErrActivationMismatch = errors.New("activation is for another license")
	ErrDevice             = errors.New("this machine is not the activated device")
	ErrActivationExpired  = errors.New("activation has expired")
)

// DeviceError is ErrDevice with the per-component explanation.
type DeviceError struct {
	Result fingerprint.Result
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("%v: %s\n%s", ErrDevice, e.Result.Reason(), e.Result.String())
}

func (e *DeviceError) Unwrap() error { return ErrDevice }

// Activated is a license verified together with its activation on this machine.
type Activated struct {
	*License
	Activation *activation.Claims
	Match      fingerprint.Result
}

// VerifyActivation verifies the license as Verify does, then the activation
// token (same trusted keys, type, signature, bound to this license, not
// expired), then that current, this machine's fingerprint (see
// machine.Collect and Profile.Digest with the product as scope), is the
// activated device under the policy the activation carries.
func VerifyActivation(licenseToken, activationToken []byte, current *fingerprint.Fingerprint, o Options) (*Activated, error) {
	lic, err := Verify(licenseToken, o)
	if err != nil {
		return nil, err
	}
	m, kid, err := openToken(activationToken, license.TypeActivation, license.MaxTokenSize, o.Keys)
	if err != nil {
		return nil, fmt.Errorf("activation: %w", err)
	}
	c, err := activation.ParseClaims(m.Payload)
	if err != nil {
		return nil, err
	}
	if err := checkKey(o.Keys, o.Revocations, kid, c.IssuedAt); err != nil {
		return nil, fmt.Errorf("activation: %w", err)
	}
	if o.Revocations != nil {
		if e, ok := o.Revocations.Activation(c.ID); ok {
			return nil, &RevokedError{What: "activation", ID: c.ID.String(), Reason: e.Reason, At: e.At}
		}
	}
	if c.License != lic.ID {
		return nil, fmt.Errorf("%w: activation for %s, license %s", ErrActivationMismatch, c.License, lic.ID)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	skew := o.Skew
	if skew == 0 {
		skew = DefaultSkew
	}
	if !c.Expires.IsZero() && !now.Add(-skew).Before(c.Expires) {
		return nil, fmt.Errorf("%w: on %s", ErrActivationExpired, c.Expires.Format(time.RFC3339))
	}
	if c.Fingerprint.Scope != lic.Product {
		return nil, fmt.Errorf("%w: activation fingerprint scope %q is not the product %q", license.ErrInvalidClaims, c.Fingerprint.Scope, lic.Product)
	}
	if current == nil {
		return nil, fmt.Errorf("%w: no fingerprint of this machine given", ErrDevice)
	}
	r := fingerprint.Match(c.Fingerprint, current, c.EffectivePolicy())
	if !r.Same {
		return nil, &DeviceError{Result: r}
	}
	return &Activated{License: lic, Activation: c, Match: r}, nil
}
