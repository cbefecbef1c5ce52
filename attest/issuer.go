package attest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/google/go-tpm/tpm2"
)

// Errors the issuer's checks give. Each means the request is refused.
var (
	ErrAttributes = errors.New("attestation key is not a TPM-resident restricted signing key")
	ErrEK         = errors.New("endorsement key is not usable")
	ErrEKCert     = errors.New("endorsement key certificate does not chain to a trusted TPM manufacturer")
)

// SecretSize is the size of the secret sealed in a credential.
const SecretSize = 32

// CheckAK parses an attestation key's public area and checks what its Name
// commits to: fixedTPM, fixedParent, sensitiveDataOrigin, restricted,
// sign-only, user authorisation, ECDSA P-256 with SHA-256, Name over SHA-256.
// It returns the AK's Name (for MakeCredential) and its public key as an
// uncompressed P-256 point (for the activation).
func CheckAK(public []byte) (name, point []byte, err error) {
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](public)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrAttributes, err)
	}
	if b := tpm2.Marshal(pub); string(b) != string(public) {
		return nil, nil, fmt.Errorf("%w: trailing or non-canonical bytes", ErrAttributes)
	}
	a := pub.ObjectAttributes
	switch {
	case pub.Type != tpm2.TPMAlgECC:
		return nil, nil, fmt.Errorf("%w: type %v, want ECC", ErrAttributes, pub.Type)
	case pub.NameAlg != tpm2.TPMAlgSHA256:
		return nil, nil, fmt.Errorf("%w: name algorithm %v, want SHA-256", ErrAttributes, pub.NameAlg)
	case !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin:
		return nil, nil, fmt.Errorf("%w: it could have been made or copied outside the TPM (fixedTPM %v, fixedParent %v, sensitiveDataOrigin %v)", ErrAttributes, a.FixedTPM, a.FixedParent, a.SensitiveDataOrigin)
	case !a.Restricted || !a.SignEncrypt || a.Decrypt:
		return nil, nil, fmt.Errorf("%w: want a restricted signing key", ErrAttributes)
	case !a.UserWithAuth || a.AdminWithPolicy || len(pub.AuthPolicy.Buffer) != 0:
		return nil, nil, fmt.Errorf("%w: want user authorisation and no policy (userWithAuth set, adminWithPolicy clear, empty authPolicy)", ErrAttributes)
	}
	params, err := pub.Parameters.ECCDetail()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrAttributes, err)
	}
	scheme, err := params.Scheme.Details.ECDSA()
	if params.Scheme.Scheme != tpm2.TPMAlgECDSA || err != nil || scheme.HashAlg != tpm2.TPMAlgSHA256 {
		return nil, nil, fmt.Errorf("%w: scheme must be ECDSA with SHA-256", ErrAttributes)
	}
	key, err := akECDSA(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrAttributes, err)
	}
	n, err := tpm2.ObjectName(pub)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrAttributes, err)
	}
	pt, _ := key.ECDH()
	return n.Buffer, pt.Bytes(), nil
}

// ekRSA parses an RSA endorsement key's public area.
func ekRSA(ekPublic []byte) (*tpm2.TPMTPublic, *rsa.PublicKey, error) {
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ekPublic)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrEK, err)
	}
	if pub.Type != tpm2.TPMAlgRSA || !pub.ObjectAttributes.Restricted || !pub.ObjectAttributes.Decrypt || !pub.ObjectAttributes.FixedTPM {
		return nil, nil, fmt.Errorf("%w: want a restricted RSA decryption key fixed to the TPM", ErrEK)
	}
	k, err := tpm2.RSAPub(mustRSADetail(pub), mustRSAUnique(pub))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrEK, err)
	}
	if k.N.BitLen() < 2048 {
		return nil, nil, fmt.Errorf("%w: RSA key of %d bits", ErrEK, k.N.BitLen())
	}
	return pub, k, nil
}

func mustRSADetail(p *tpm2.TPMTPublic) *tpm2.TPMSRSAParms {
	d, err := p.Parameters.RSADetail()
	if err != nil {
		return &tpm2.TPMSRSAParms{}
	}
	return d
}

func mustRSAUnique(p *tpm2.TPMTPublic) *tpm2.TPM2BPublicKeyRSA {
	u, err := p.Unique.RSA()
	if err != nil {
		return &tpm2.TPM2BPublicKeyRSA{}
	}
	return u
}

// EKIdentity is the EK as the fingerprint's tpm-ek component reads it
// (package machine): "rsa:" and the hex SHA-256 of the modulus. The issuer
// compares it with the request's fingerprint, so the attested TPM is the
// fingerprinted one.
func EKIdentity(ekPublic []byte) (string, error) {
	pub, _, err := ekRSA(ekPublic)
	if err != nil {
		return "", err
	}
	return "rsa:" + hex.EncodeToString(digest(mustRSAUnique(pub).Buffer)), nil
}

// Credential is what the issuer seals for one device's TPM.
type Credential struct {
	Blob       []byte // TPM2B_ID_OBJECT contents
	Secret     []byte // TPM2B_ENCRYPTED_SECRET contents (the seed, RSA-OAEP to the EK)
	Commitment []byte // SHA-256 of the sealed secret
}

// MakeCredential seals a fresh random secret to the EK for the AK named
// akName, as TPM2_MakeCredential would; only ActivateCredential in the TPM
// holding both keys recovers it.
func MakeCredential(ekPublic, akName []byte) (*Credential, error) {
	pub, _, err := ekRSA(ekPublic)
	if err != nil {
		return nil, err
	}
	ek, err := tpm2.ImportEncapsulationKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEK, err)
	}
	secret := make([]byte, SecretSize)
	rand.Read(secret)
	blob, enc, err := tpm2.CreateCredential(rand.Reader, ek, akName, secret)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEK, err)
	}
	return &Credential{Blob: blob, Secret: enc, Commitment: digest(secret)}, nil
}

// CheckEKCertificate checks that cert (DER) certifies the EK and chains to
// one of roots (TPM manufacturers' CA certificates the vendor configured).
func CheckEKCertificate(cert, ekPublic []byte, roots *x509.CertPool, now time.Time) error {
	_, ek, err := ekRSA(ekPublic)
	if err != nil {
		return err
	}
	c, err := x509.ParseCertificate(cert)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEKCert, err)
	}
	k, ok := c.PublicKey.(*rsa.PublicKey)
	if !ok || !k.Equal(ek) {
		return fmt.Errorf("%w: the certificate is for another key", ErrEKCert)
	}
	// EK certificates mark the TPM's subject alternative name critical, in a
	// form Go does not parse; the chain is what is checked here.
	c.UnhandledCriticalExtensions = nil
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return fmt.Errorf("%w: %v", ErrEKCert, err)
	}
	return nil
}

func ecdsaSig(r, s *big.Int) ([]byte, error) {
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}
