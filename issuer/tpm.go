package issuer

import (
	"bytes"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/attest"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
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

// ErrBadProof refuses a return proof that does not hold: an unknown
// activation, one not bound to a TPM, a signature that is not its key's.
var ErrBadProof = errors.New("return proof refused")

const attestedMigration = `ALTER TABLE devices ADD COLUMN attested INTEGER NOT NULL DEFAULT 0;`

// DecommissionWithProof decommissions the device whose TPM signed proof:
// the device's own statement (SPEC.md 13) that it gave its seat back, so no
// trust in the customer's word is needed. It returns the device.
func (l *Ledger) DecommissionWithProof(proof []byte) (activation.DeviceID, error) {
	var dev activation.DeviceID
	p, err := activation.ParseReturnProof(proof)
	if err != nil {
		return dev, fmt.Errorf("%w: %w", ErrBadProof, err)
	}
	var tok, devID []byte
	err = l.db.QueryRow(`SELECT token, device_id FROM activations WHERE id = ?`, p.Activation[:]).Scan(&tok, &devID)
	if errors.Is(err, sql.ErrNoRows) {
		return dev, fmt.Errorf("%w: %w: %s", ErrBadProof, ErrUnknownActivation, p.Activation)
	} else if err != nil {
		return dev, err
	}
	c, _, _, err := activation.Inspect(tok) // issued and recorded by this ledger
	if err != nil {
		return dev, fmt.Errorf("ledger: stored activation %s: %w", p.Activation, err)
	}
	if c.Credential == nil {
		return dev, fmt.Errorf("%w: activation %s is not bound to a TPM; decommission the device by its ID", ErrBadProof, p.Activation)
	}
	if !activation.VerifyAKSignature(c.Credential.AKPoint, activation.ReturnMessage(p.Activation, p.At), p.Signature) {
		return dev, fmt.Errorf("%w: not signed by activation %s's TPM key", ErrBadProof, p.Activation)
	}
	if p.At.After(l.now().Add(24 * time.Hour)) {
		return dev, fmt.Errorf("%w: dated %s, in the future", ErrBadProof, p.At.Format(time.RFC3339))
	}
	copy(dev[:], devID)
	var status string
	if err := l.db.QueryRow(`SELECT status FROM devices WHERE id = ?`, devID).Scan(&status); err != nil {
		return dev, err
	}
	if status == "decommissioned" {
		return dev, fmt.Errorf("%w: %s is already decommissioned", ErrNotActive, dev) // the same proof again
	}
	// Only the device's live activation can give its seat back: a proof
	// signed with the key of a superseded activation (an older AK the TPM
	// may still hold) would free the seat while the current one works.
	var reason int
	switch err := l.db.QueryRow(`SELECT reason FROM revocations WHERE kind = 'activation' AND id = ? AND active = 1`, p.Activation[:]).Scan(&reason); {
	case err == nil:
		return dev, fmt.Errorf("%w: activation %s is revoked (%s): only the device's current activation can return its seat", ErrBadProof, p.Activation, license.Reason(reason))
	case !errors.Is(err, sql.ErrNoRows):
		return dev, err
	}

	return dev, l.Decommission(dev)
}
