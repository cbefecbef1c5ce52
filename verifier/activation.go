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
	// ErrScope is a programming error: the current fingerprint was collected
	// with another scope than the license's product, so it cannot be compared.
	ErrScope = errors.New("the machine's fingerprint was collected for another scope")
)

// DeviceError is ErrDevice with the per-component explanation. Error is one
// line; Table gives the component table for a person who wants the detail.
type DeviceError struct {
	Result fingerprint.Result
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("%v: %s", ErrDevice, e.Result.Reason())
}

// Table renders each component's status, one a line, and the verdict.
func (e *DeviceError) Table() string { return e.Result.String() }

func (e *DeviceError) Unwrap() error { return ErrDevice }

// Activated is a license verified together with its activation on this machine.
type Activated struct {
	*License
	Activation *activation.Claims
	Match      fingerprint.Result
}

// VerifyActivation verifies the license and its activation on this machine:
// current is this machine's fingerprint (machine.Collect, then
// Profile.Digest with the license's product as scope). The order of the
// checks is SPEC.md section 10.3: both tokens are opened first, then the
// state file and the revocation list are applied (so that the activation's
// device can be bound to a state reset and its list age applies), then the
// license's checks, then the activation's.
func VerifyActivation(licenseToken, activationToken []byte, current *fingerprint.Fingerprint, o Options) (*Activated, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if current == nil {
		return nil, fmt.Errorf("%w: no fingerprint of this machine given", ErrOptions)
	}
	lc, lkid, err := openLicense(licenseToken, o.Keys)
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
	if c.License != lc.ID {
		return nil, fmt.Errorf("%w: activation for %s, license %s", ErrActivationMismatch, c.License, lc.ID)
	}
	dev := [16]byte(c.Device)
	s, err := begin(&o, lc.ID, &dev, c.MaxListAgeDays)
	if err != nil {
		return nil, err
	}
	lic, err := s.finish(lc, lkid)
	if err != nil {
		return nil, err
	}
	if err := checkKey(o.Keys, o.Revocations, s.st, kid, c.IssuedAt); err != nil {
		return nil, fmt.Errorf("activation: %w", err)
	}
	if o.Revocations != nil {
		if e, ok := o.Revocations.Activation(c.ID); ok {
			return nil, &RevokedError{What: "activation", ID: c.ID.String(), Reason: e.Reason, At: e.At}
		}
	}
	if !c.Expires.IsZero() && !s.now.Add(-o.skew()).Before(c.Expires) {
		return nil, fmt.Errorf("%w: on %s", ErrActivationExpired, c.Expires.Format(time.RFC3339))
	}
	if c.Fingerprint.Scope != lic.Product {
		return nil, fmt.Errorf("%w: activation fingerprint scope %q is not the product %q", license.ErrInvalidClaims, c.Fingerprint.Scope, lic.Product)
	}
	if current.Scope != lic.Product {
		return nil, fmt.Errorf("%w: collected for %q; collect it with the license's product %q as scope", ErrScope, current.Scope, lic.Product)
	}
	r := fingerprint.Match(c.Fingerprint, current, c.EffectivePolicy())
	if !r.Same {
		return nil, &DeviceError{Result: r}
	}
	if c.Credential != nil {
		if err := proveTPM(o.TPM, c); err != nil {
			return nil, err
		}
	}
	return &Activated{License: lic, Activation: c, Match: r}, nil
}
