package activation

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

// TPM proof of possession on the wire (SPEC.md section 13). This file is
// pure: it reads no TPM. Package attest does the TPM side, and the issuer
// and the verifier meet it through these types.

// Attestation is what a request carries when the device has a TPM:
// request key 7, {1 => AK public area, 2 => EK public area, ? 3 => EK
// certificate, 4 => AK handle}.
type Attestation struct {
	AK     []byte // TPMT_PUBLIC of the attestation key, as the TPM marshals it
	EK     []byte // TPMT_PUBLIC of the RSA endorsement key
	EKCert []byte // DER X.509 EK certificate; empty when the TPM holds none
	Handle uint32 // the AK's persistent handle
}

type wireAttestation struct {
	AK     []byte `cbor:"1,keyasint"`
	EK     []byte `cbor:"2,keyasint"`
	EKCert []byte `cbor:"3,keyasint,omitempty"`
	Handle uint32 `cbor:"4,keyasint"`
}

// The AK handles seatkey uses (SPEC.md section 13) and size bounds.
const (
	FirstAKHandle uint32 = 0x81015E00
	LastAKHandle  uint32 = 0x81015EFF
	maxTPMPublic         = 1024
	maxEKCert            = 8192
	maxCredential        = 1024
)

func (a *Attestation) wire() (*wireAttestation, error) {
	if a == nil {
		return nil, nil
	}
	if err := a.check(); err != nil {
		return nil, err
	}
	return &wireAttestation{AK: a.AK, EK: a.EK, EKCert: a.EKCert, Handle: a.Handle}, nil
}

func (a *Attestation) check() error {
	switch {
	case len(a.AK) == 0 || len(a.AK) > maxTPMPublic || len(a.EK) == 0 || len(a.EK) > maxTPMPublic:
		return fmt.Errorf("%w: attestation: AK and EK public areas are 1 to %d bytes", ErrBadRequest, maxTPMPublic)
	case len(a.EKCert) > maxEKCert:
		return fmt.Errorf("%w: attestation: EK certificate over %d bytes", ErrBadRequest, maxEKCert)
	case a.Handle < FirstAKHandle || a.Handle > LastAKHandle:
		return fmt.Errorf("%w: attestation: AK handle %#x outside %#x..%#x", ErrBadRequest, a.Handle, FirstAKHandle, LastAKHandle)
	}
	return nil
}

// Credential is what an activation carries for a TPM-bound device:
// seatkey claim 8, {1 => credential blob, 2 => encrypted seed, 3 =>
// SHA-256 of the secret, 4 => the AK's public key (uncompressed P-256
// point), 5 => the AK handle}. Only the TPM holding the AK and the EK it was
// sealed to opens it.
type Credential struct {
	Blob       []byte
	Secret     []byte
	Commitment [32]byte
	AKPoint    []byte // 65 bytes: 0x04 || X || Y
	Handle     uint32
}

type wireCredential struct {
	Blob       []byte `cbor:"1,keyasint"`
	Secret     []byte `cbor:"2,keyasint"`
	Commitment []byte `cbor:"3,keyasint"`
	AK         []byte `cbor:"4,keyasint"`
	Handle     uint32 `cbor:"5,keyasint"`
}

func (c *Credential) check() error {
	switch {
	case len(c.Blob) == 0 || len(c.Blob) > maxCredential || len(c.Secret) == 0 || len(c.Secret) > maxCredential:
		return fmt.Errorf("credential blob and seed are 1 to %d bytes", maxCredential)
	case len(c.AKPoint) != 65 || c.AKPoint[0] != 4:
		return fmt.Errorf("the AK must be an uncompressed P-256 point of 65 bytes")
	case c.Handle < FirstAKHandle || c.Handle > LastAKHandle:
		return fmt.Errorf("AK handle %#x outside %#x..%#x", c.Handle, FirstAKHandle, LastAKHandle)
	}
	if _, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), c.AKPoint); err != nil {
		return fmt.Errorf("the AK is not a P-256 point")
	}
	return nil
}

// ProofMessage is what the AK signs to show it is present now:
// "seatkey tpm proof v1" || 0x00 || activation ID || the verifier's nonce.
func ProofMessage(id ID, nonce []byte) []byte {
	m := append([]byte("seatkey tpm proof v1\x00"), id[:]...)
	return append(m, nonce...)
}

// ReturnMessage is what the AK signs when the device gives its seat back:
// "seatkey return v1" || 0x00 || activation ID || 8-byte big-endian seconds.
func ReturnMessage(id ID, at time.Time) []byte {
	m := append([]byte("seatkey return v1\x00"), id[:]...)
	return binary.BigEndian.AppendUint64(m, uint64(at.Unix()))
}

// VerifyAKSignature checks an AK signature (ASN.1 ECDSA over SHA-256 of
// msg) with the AK's uncompressed P-256 point.
func VerifyAKSignature(point, msg, sig []byte) bool {
	k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return false
	}
	h := sha256.Sum256(msg)
	return ecdsa.VerifyASN1(k, h[:], sig)
}

// ReturnProof is a device's signed statement that it gave its seat back:
// {1 => activation ID, 2 => time, 3 => ECDSA signature of the AK over
// ReturnMessage}, armor label RETURN PROOF. The issuer checks it with the
// AK point in the activation's credential; the device deletes the AK.
type ReturnProof struct {
	Activation ID
	At         time.Time
	Signature  []byte
}

type wireReturnProof struct {
	Activation []byte `cbor:"1,keyasint"`
	At         uint64 `cbor:"2,keyasint"`
	Signature  []byte `cbor:"3,keyasint"`
}

// maxSignature bounds an ASN.1 ECDSA P-256 signature.
const maxSignature = 80

// Armor returns the armored proof.
func (p *ReturnProof) Armor() ([]byte, error) {
	if len(p.Signature) == 0 || len(p.Signature) > maxSignature || p.At.Unix() <= 0 {
		return nil, fmt.Errorf("%w: return proof: a signature of 1 to %d bytes and a time are required", ErrBadRequest, maxSignature)
	}
	b, err := cborx.Marshal(wireReturnProof{Activation: p.Activation[:], At: uint64(p.At.Unix()), Signature: p.Signature})
	if err != nil {
		return nil, err
	}
	return armor.Encode(armor.ReturnProof, b), nil
}

// ParseReturnProof strictly decodes a return proof in binary or armored
// form; it checks the form only (the issuer checks the signature).
func ParseReturnProof(b []byte) (*ReturnProof, error) {
	if armor.Is(b) {
		var err error
		if b, err = armor.Decode(armor.ReturnProof, b); err != nil {
			return nil, fmt.Errorf("return proof: %w", err)
		}
	}
	if len(b) > 1024 {
		return nil, fmt.Errorf("return proof: %w: larger than 1024 bytes", license.ErrTooLarge)
	}
	var w wireReturnProof
	if err := cborx.Decode(b, &w); err != nil {
		return nil, fmt.Errorf("return proof: %w", err)
	}
	if k, missing := cborx.Missing(b, []int64{1, 2, 3}, nil); missing {
		return nil, fmt.Errorf("%w: return proof field %s is missing", ErrBadRequest, k)
	}
	if err := cborx.Canonical(b, &w); err != nil {
		return nil, fmt.Errorf("return proof: %w", err)
	}
	if len(w.Activation) != 16 || w.At == 0 || w.At > 253402300799 || len(w.Signature) == 0 || len(w.Signature) > maxSignature {
		return nil, fmt.Errorf("%w: return proof fields out of range", ErrBadRequest)
	}
	p := &ReturnProof{At: time.Unix(int64(w.At), 0).UTC(), Signature: w.Signature}
	copy(p.Activation[:], w.Activation)
	return p, nil
}
