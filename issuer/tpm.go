package issuer

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/attest"
	"github.com/seatkey/seatkey/fingerprint"
)

// ErrAttestation refuses a request whose TPM attestation does not hold: an
// attestation key that could live outside the TPM, an EK that is not the
// fingerprinted TPM's, or an EK certificate the vendor's policy does not
// accept. (The attest package's error is wrapped.)
var ErrAttestation = errors.New("TPM attestation refused")

// TPMPolicy is what the issuer asks of a TPM-attested request (SPEC.md 13).
type TPMPolicy struct {
	// EKRoots are the TPM manufacturers' CA certificates an EK certificate
	// must chain to; nil: certificates are not checked.
	EKRoots *x509.CertPool
	// RequireEKCert refuses an attested request without an EK certificate
	// that chains to EKRoots: a TPM emulator with a made-up EK then fails.
	RequireEKCert bool
}

// credential checks a request's attestation and seals a credential to its
// TPM, for the activation to carry: the AK's attributes, the EK being the
// TPM the fingerprint names (its tpm-ek digest), the EK certificate when
// the policy asks for it.
func (l *Ledger) credential(req *activation.Request) (*activation.Credential, error) {
	a := req.Attestation
	refuse := func(err error) error { return fmt.Errorf("%w: %w: %w", ErrRequestRefused, ErrAttestation, err) }
	name, point, err := attest.CheckAK(a.AK)
	if err != nil {
		return nil, refuse(err)
	}
	ek, err := attest.EKIdentity(a.EK)
	if err != nil {
		return nil, refuse(err)
	}
	var p fingerprint.Profile
	p.Set(fingerprint.TPMEK, ek)
	want := p.Digest(req.Fingerprint.Scope).Components[fingerprint.TPMEK]
	got := req.Fingerprint.Components[fingerprint.TPMEK]
	if len(got) != 1 || !bytes.Equal(got[0][:], want[0][:]) {
		return nil, refuse(errors.New("the attested endorsement key is not the TPM in the request's fingerprint"))
	}
	if l.TPM.EKRoots != nil && (len(a.EKCert) > 0 || l.TPM.RequireEKCert) {
		if len(a.EKCert) == 0 {
			return nil, refuse(errors.New("the vendor requires an EK certificate from a TPM manufacturer, and the request has none"))
		}
		if err := attest.CheckEKCertificate(a.EKCert, a.EK, l.TPM.EKRoots, l.now()); err != nil {
			return nil, refuse(err)
		}
	} else if l.TPM.RequireEKCert {
		return nil, refuse(errors.New("EK certificates are required but no manufacturer CA is configured"))
	}
	c, err := attest.MakeCredential(a.EK, name)
	if err != nil {
		return nil, refuse(err)
	}
	cred := &activation.Credential{Blob: c.Blob, Secret: c.Secret, AKPoint: point, Handle: a.Handle}
	copy(cred.Commitment[:], c.Commitment)
	return cred, nil
}
