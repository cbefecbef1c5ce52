package machine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// ekPersistentHandle is where a provisioned RSA EK usually lives (TCG EK profile).
const ekPersistentHandle = 0x81010001

// ReadEK returns the identity of the TPM's RSA endorsement key: "rsa:" and
// the SHA-256 of its modulus. path names the TPM as openTPM of this OS takes
// it: on Linux a character device or a simulator's unix socket, on Windows ""
// for the TPM Base Services. It only reads: a provisioned EK from its
// persistent handle, or otherwise the EK regenerated in transient memory from
// the TCG template (deterministic for a TPM) and flushed at once.
func ReadEK(path string) (string, error) {
	tpm, err := openTPM(path)
	if err != nil {
		return "", err
	}
	defer tpm.Close()
	if id, ok := persistentEK(tpm); ok {
		return id, nil
	}
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.TPMRHEndorsement,
		InPublic:      tpm2.New2B(tpm2.RSAEKTemplate),
	}.Execute(tpm)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrTPM, path, err)
	}
	defer tpm2.FlushContext{FlushHandle: rsp.ObjectHandle}.Execute(tpm)
	pub, err := rsp.OutPublic.Contents()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrTPM, err)
	}
	return rsaID(pub)
}

func persistentEK(tpm transport.TPM) (string, bool) {
	rsp, err := tpm2.ReadPublic{ObjectHandle: tpm2.TPMHandle(ekPersistentHandle)}.Execute(tpm)
	if err != nil {
		return "", false
	}
	pub, err := rsp.OutPublic.Contents()
	if err != nil || pub.Type != tpm2.TPMAlgRSA {
		return "", false
	}
	id, err := rsaID(pub)
	return id, err == nil
}

func rsaID(pub *tpm2.TPMTPublic) (string, error) {
	rsa, err := pub.Unique.RSA()
	if err != nil || len(rsa.Buffer) < 256 {
		return "", fmt.Errorf("%w: endorsement key is not RSA-2048 or larger", ErrTPM)
	}
	sum := sha256.Sum256(rsa.Buffer)
	return "rsa:" + hex.EncodeToString(sum[:]), nil
}
