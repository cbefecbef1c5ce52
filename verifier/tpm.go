package verifier

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/seatkey/seatkey/activation"
)

// Refusals of a TPM-bound activation (SPEC.md section 13).
var (
	// ErrTPMRequired: the activation is bound to a TPM and no TPM was given
	// to prove it (Options.TPM).
	ErrTPMRequired = errors.New("this activation is bound to a TPM: verify it with the machine's TPM")
	// ErrTPMProof: the TPM given could not prove it holds the activation's
	// key (another machine, a cleared TPM, a returned seat); the TPM's own
	// error is wrapped.
	ErrTPMProof = errors.New("this machine's TPM does not hold the activation's key")
)

// Prover is the machine's TPM as the verifier uses it: open the
// activation's credential and sign a message with its attestation key.
// Package attest's Device is one, over a real TPM; the verifier itself
// links no TPM code.
type Prover interface {
	Prove(c *activation.Credential, msg []byte) (secret, sig []byte, err error)
}

// proveTPM has the TPM open the credential (only the TPM that holds the
// attestation key and the EK the credential was sealed to can) and sign a
// fresh nonce with the key, and checks both answers.
func proveTPM(p Prover, c *activation.Claims) error {
	if p == nil {
		return ErrTPMRequired
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	msg := activation.ProofMessage(c.ID, nonce)
	secret, sig, err := p.Prove(c.Credential, msg)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrTPMProof, err)
	}
	if h := sha256.Sum256(secret); !bytes.Equal(h[:], c.Credential.Commitment[:]) {
		return fmt.Errorf("%w: the secret it opened is not the one sealed", ErrTPMProof)
	}
	if !activation.VerifyAKSignature(c.Credential.AKPoint, msg, sig) {
		return fmt.Errorf("%w: the nonce is not signed by the activation's key", ErrTPMProof)
	}
	return nil
}
