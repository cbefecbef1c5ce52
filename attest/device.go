// Package attest binds an activation to one TPM 2.0, so that a copy of the
// activation, a cloned disk image or a faked fingerprint cannot pass on
// another machine.
//
// The device (Device) creates an attestation key (AK) in its TPM: a
// restricted ECDSA P-256 signing key in the endorsement hierarchy, with
// fixedTPM, fixedParent and sensitiveDataOrigin set, made persistent at a
// handle of its own. Its public area, whose Name commits to those attributes,
// travels in the activation request with the endorsement key (EK).
//
// The issuer (CheckAK, MakeCredential) checks the AK's attributes and seals a
// random secret to the EK for the AK's Name (TPM credential protection,
// TPM2_MakeCredential computed in software), and puts the sealed credential
// and a commitment to the secret in the signed activation.
//
// On every verification the device's TPM opens the credential
// (TPM2_ActivateCredential), which it does only if that AK lives in the TPM
// that owns that EK, and the AK signs a fresh nonce. Returning a seat signs a
// statement with the AK and then deletes it from the TPM.
//
// What this proves, and what it does not: a real TPM never lets an AK with
// fixedTPM leave it, so a clone without the TPM fails. A TPM emulator whose EK
// the customer made up passes unless the issuer requires EK certificates that
// chain to a TPM manufacturer (CheckEKCertificate). SPEC.md §12 is normative.
package attest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/seatkey/seatkey/activation"
)

// Errors a device-side operation can give. They wrap the TPM's own error.
var (
	ErrNoKey      = errors.New("the activation's TPM key is not in this TPM: the TPM was cleared, the seat was returned, or this is another machine; a new activation is needed")
	ErrCredential = errors.New("this TPM cannot open the activation's credential: the activation belongs to another machine's TPM")
	ErrTPM        = errors.New("TPM operation failed")
)

// Handles seatkey uses for attestation keys: persistent handles in the
// endorsement range reserved by the TCG handle registry for such keys,
// 0x81015E00 to 0x81015EFF ("5E" for seatkey).
const (
	FirstHandle = 0x81015E00
	LastHandle  = 0x81015EFF
)

// Device is a TPM on the machine being activated.
type Device struct {
	tpm transport.TPM
}

// NewDevice uses an open TPM connection (see package machine for opening
// one on each OS, or a simulator's socket in tests).
func NewDevice(t transport.TPM) *Device { return &Device{tpm: t} }

// akTemplate is the attestation key: ECDSA P-256 over SHA-256, restricted to
// signing what the TPM did not generate itself, never leaving this TPM.
func akTemplate(entropy []byte) tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgECC,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM:            true,
			FixedParent:         true,
			SensitiveDataOrigin: true,
			UserWithAuth:        true,
			Restricted:          true,
			SignEncrypt:         true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Scheme: tpm2.TPMTECCScheme{
				Scheme:  tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256}),
			},
			CurveID: tpm2.TPMECCNistP256,
		}),
		// A random unique value: the key cannot be derived again from the
		// endorsement seed by anyone who does not know it.
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: entropy},
			Y: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)},
		}),
	}
}

// Key is an attestation key in the TPM, as the request carries it.
type Key struct {
	Handle uint32 // persistent handle
	Public []byte // TPMT_PUBLIC of the AK, as the TPM marshals it
	EK     []byte // TPMT_PUBLIC of the RSA endorsement key
	EKCert []byte // DER X.509 EK certificate from NV 0x01C00002, if the TPM holds one
}

// NewKey creates an attestation key and makes it persistent at the first
// free handle from FirstHandle on.
func (d *Device) NewKey() (*Key, error) {
	handle, err := d.freeHandle()
	if err != nil {
		return nil, err
	}
	entropy := make([]byte, 32)
	rand.Read(entropy)
	cp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHEndorsement,
		InPublic:      tpm2.New2B(akTemplate(entropy)),
	}.Execute(d.tpm)
	clear(entropy)
	if err != nil {
		return nil, fmt.Errorf("%w: create attestation key: %w", ErrTPM, err)
	}
	defer tpm2.FlushContext{FlushHandle: cp.ObjectHandle}.Execute(d.tpm)
	if _, err := (tpm2.EvictControl{
		Auth:             tpm2.TPMRHOwner,
		ObjectHandle:     &tpm2.NamedHandle{Handle: cp.ObjectHandle, Name: cp.Name},
		PersistentHandle: tpm2.TPMHandle(handle),
	}).Execute(d.tpm); err != nil {
		return nil, fmt.Errorf("%w: persist attestation key: %w", ErrTPM, err)
	}
	k := &Key{Handle: handle, Public: cp.OutPublic.Bytes()}
	if k.EK, err = d.ekPublic(); err != nil {
		return nil, err
	}
	k.EKCert, _ = d.ekCertificate() // optional: many TPMs and simulators have none
	return k, nil
}

func (d *Device) freeHandle() (uint32, error) {
	for h := uint32(FirstHandle); h <= LastHandle; h++ {
		if _, err := (tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(h)}).Execute(d.tpm); err != nil {
			if isHandleError(err) {
				return h, nil
			}
			return 0, fmt.Errorf("%w: %w", ErrTPM, err)
		}
	}
	return 0, fmt.Errorf("%w: all seatkey attestation handles are in use", ErrTPM)
}

// isHandleError says whether err is the TPM saying the handle holds nothing.
func isHandleError(err error) bool {
	return errors.Is(err, tpm2.TPMRCHandle)
}

// ek loads the RSA endorsement key from the TCG template (deterministic for a
// TPM) and returns it with its Name; the caller flushes it.
func (d *Device) ek() (*tpm2.CreatePrimaryResponse, error) {
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHEndorsement,
		InPublic:      tpm2.New2B(tpm2.RSAEKTemplate),
	}.Execute(d.tpm)
	if err != nil {
		return nil, fmt.Errorf("%w: endorsement key: %w", ErrTPM, err)
	}
	return rsp, nil
}

func (d *Device) ekPublic() ([]byte, error) {
	ek, err := d.ek()
	if err != nil {
		return nil, err
	}
	defer tpm2.FlushContext{FlushHandle: ek.ObjectHandle}.Execute(d.tpm)
	pub, err := ek.OutPublic.Contents()
	if err != nil {
		return nil, err
	}
	return tpm2.Marshal(pub), nil
}

// ekCertIndex is the NV index of the RSA EK certificate (TCG EK profile).
const ekCertIndex = 0x01C00002

func (d *Device) ekCertificate() ([]byte, error) {
	nv, err := tpm2.NVReadPublic{NVIndex: tpm2.TPMHandle(ekCertIndex)}.Execute(d.tpm)
	if err != nil {
		return nil, err
	}
	pub, err := nv.NVPublic.Contents()
	if err != nil {
		return nil, err
	}
	const chunk = 1024 // TPM_PT_NV_BUFFER_MAX on swtpm; real TPMs allow at least this
	var out []byte
	for off := 0; off < int(pub.DataSize); off += chunk {
		n := min(chunk, int(pub.DataSize)-off)
		rsp, err := tpm2.NVRead{
			AuthHandle: tpm2.NamedHandle{Handle: tpm2.TPMHandle(ekCertIndex), Name: nv.NVName},
			NVIndex:    tpm2.NamedHandle{Handle: tpm2.TPMHandle(ekCertIndex), Name: nv.NVName},
			Size:       uint16(n),
			Offset:     uint16(off),
		}.Execute(d.tpm)
		if err != nil {
			return nil, err
		}
		out = append(out, rsp.Data.Buffer...)
	}
	return out, nil
}

// ak reads the persistent attestation key at handle.
func (d *Device) ak(handle uint32) (*tpm2.NamedHandle, *tpm2.TPMTPublic, error) {
	rp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(handle)}.Execute(d.tpm)
	if err != nil {
		if isHandleError(err) {
			return nil, nil, ErrNoKey
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrTPM, err)
	}
	pub, err := rp.OutPublic.Contents()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrTPM, err)
	}
	return &tpm2.NamedHandle{Handle: tpm2.TPMHandle(handle), Name: rp.Name}, pub, nil
}

// Prove is the verifier's question to this TPM (verifier.Prover): open the
// activation's credential and sign msg with its attestation key.
func (d *Device) Prove(c *activation.Credential, msg []byte) (secret, sig []byte, err error) {
	if secret, err = d.OpenCredential(c.Handle, c.AKPoint, c.Blob, c.Secret); err != nil {
		return nil, nil, err
	}
	if sig, err = d.Sign(c.Handle, msg); err != nil {
		return nil, nil, err
	}
	return secret, sig, nil
}

// OpenCredential has the TPM open a credential sealed to its EK for the AK at
// handle, whose public key must be wantPoint (uncompressed P-256), returning
// the secret inside. Only the TPM holding both keys can.
func (d *Device) OpenCredential(handle uint32, wantPoint, blob, encSecret []byte) ([]byte, error) {
	ak, pub, err := d.ak(handle)
	if err != nil {
		return nil, err
	}
	if k, err := akECDSA(pub); err != nil {
		return nil, ErrNoKey
	} else if pt, err := k.ECDH(); err != nil || !bytes.Equal(pt.Bytes(), wantPoint) {
		return nil, ErrNoKey // another key sits at that handle
	}
	ek, err := d.ek()
	if err != nil {
		return nil, err
	}
	defer tpm2.FlushContext{FlushHandle: ek.ObjectHandle}.Execute(d.tpm)
	rsp, err := tpm2.ActivateCredential{
		ActivateHandle: tpm2.AuthHandle{Handle: ak.Handle, Name: ak.Name, Auth: tpm2.PasswordAuth(nil)},
		KeyHandle: tpm2.AuthHandle{Handle: ek.ObjectHandle, Name: ek.Name,
			Auth: tpm2.Policy(tpm2.TPMAlgSHA256, 16, endorsementPolicy)},
		CredentialBlob: tpm2.TPM2BIDObject{Buffer: blob},
		Secret:         tpm2.TPM2BEncryptedSecret{Buffer: encSecret},
	}.Execute(d.tpm)
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrCredential, err)
	}
	return rsp.CertInfo.Buffer, nil
}

// endorsementPolicy satisfies the TCG EK's policy: PolicySecret on the
// endorsement hierarchy (empty authorization, as TPMs ship).
func endorsementPolicy(t transport.TPM, handle tpm2.TPMISHPolicy, nonceTPM tpm2.TPM2BNonce) error {
	_, err := tpm2.PolicySecret{AuthHandle: tpm2.TPMRHEndorsement, PolicySession: handle, NonceTPM: nonceTPM}.Execute(t)
	return err
}

// Sign has the AK at handle sign msg (which must not begin with the TPM's
// own TPM_GENERATED_VALUE; seatkey messages begin with "seatkey") and returns
// an ASN.1 ECDSA signature over SHA-256(msg).
func (d *Device) Sign(handle uint32, msg []byte) ([]byte, error) {
	ak, _, err := d.ak(handle)
	if err != nil {
		return nil, err
	}
	if len(msg) > 1024 {
		return nil, fmt.Errorf("%w: message of %d bytes is too long to hash in the TPM", ErrTPM, len(msg))
	}
	// A restricted key signs only digests the TPM computed, with a ticket
	// proving the data did not look like a TPM-generated structure.
	h, err := tpm2.Hash{Data: tpm2.TPM2BMaxBuffer{Buffer: msg}, HashAlg: tpm2.TPMAlgSHA256, Hierarchy: tpm2.TPMRHEndorsement}.Execute(d.tpm)
	if err != nil {
		return nil, fmt.Errorf("%w: hash: %w", ErrTPM, err)
	}
	s, err := tpm2.Sign{
		KeyHandle:  tpm2.AuthHandle{Handle: ak.Handle, Name: ak.Name, Auth: tpm2.PasswordAuth(nil)},
		Digest:     h.OutHash,
		InScheme:   tpm2.TPMTSigScheme{Scheme: tpm2.TPMAlgECDSA, Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMAlgSHA256})},
		Validation: h.Validation,
	}.Execute(d.tpm)
	if err != nil {
		return nil, fmt.Errorf("%w: sign: %w", ErrTPM, err)
	}
	sig, err := s.Signature.Signature.ECDSA()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTPM, err)
	}
	return asn1Signature(sig.SignatureR.Buffer, sig.SignatureS.Buffer), nil
}

// Delete removes the AK at handle from the TPM for good.
func (d *Device) Delete(handle uint32) error {
	ak, _, err := d.ak(handle)
	if err != nil {
		return err
	}
	if _, err := (tpm2.EvictControl{Auth: tpm2.TPMRHOwner, ObjectHandle: ak, PersistentHandle: tpm2.TPMHandle(handle)}).Execute(d.tpm); err != nil {
		return fmt.Errorf("%w: delete attestation key: %w", ErrTPM, err)
	}
	return nil
}

// asn1Signature encodes r and s as an ASN.1 ECDSA-Sig-Value.
func asn1Signature(r, s []byte) []byte {
	sig, _ := ecdsaSig(new(big.Int).SetBytes(r), new(big.Int).SetBytes(s))
	return sig
}

// akECDSA returns the AK's public key from its TPMT_PUBLIC.
func akECDSA(pub *tpm2.TPMTPublic) (*ecdsa.PublicKey, error) {
	ecc, err := pub.Unique.ECC()
	if err != nil {
		return nil, err
	}
	params, err := pub.Parameters.ECCDetail()
	if err != nil {
		return nil, err
	}
	if params.CurveID != tpm2.TPMECCNistP256 {
		return nil, fmt.Errorf("curve %v, want NIST P-256", params.CurveID)
	}
	x, y := new(big.Int).SetBytes(ecc.X.Buffer), new(big.Int).SetBytes(ecc.Y.Buffer)
	if !elliptic.P256().IsOnCurve(x, y) {
		return nil, errors.New("point is not on P-256")
	}
	return &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y}, nil
}

// digest is SHA-256, the only hash the profile uses.
func digest(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
