package attest

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/internal/swtpm"
)

var actID = activation.ID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

// enrol runs what request, activation and verification do, on one TPM.
func enrol(t *testing.T, d *Device) (*Key, *Credential, []byte) {
	t.Helper()
	k, err := d.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	name, point, err := CheckAK(k.Public)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := MakeCredential(k.EK, name)
	if err != nil {
		t.Fatal(err)
	}
	return k, cred, point
}

func prove(d *Device, k *Key, cred *Credential, point []byte) error {
	secret, err := d.OpenCredential(k.Handle, point, cred.Blob, cred.Secret)
	if err != nil {
		return err
	}
	if !bytes.Equal(digest(secret), cred.Commitment) {
		return errors.New("secret does not match the commitment")
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	sig, err := d.Sign(k.Handle, activation.ProofMessage(actID, nonce))
	if err != nil {
		return err
	}
	if !activation.VerifyAKSignature(point, activation.ProofMessage(actID, nonce), sig) {
		return errors.New("signature does not verify")
	}
	return nil
}

func TestProofOnTheSameTPM(t *testing.T) {
	tpm, _ := swtpm.Open(t)
	d := NewDevice(tpm)
	k, cred, point := enrol(t, d)
	if err := prove(d, k, cred, point); err != nil {
		t.Fatalf("the enrolled TPM: %v", err)
	}
	if len(k.EKCert) == 0 {
		t.Fatal("swtpm was provisioned with an EK certificate, none read")
	}
}

func TestProofSurvivesRestart(t *testing.T) {
	state := swtpm.NewState(t)
	sock, stop := swtpm.Start(t, state)
	d := NewDevice(swtpm.Dial(t, sock))
	k, cred, point := enrol(t, d)
	stop()
	sock, _ = swtpm.Start(t, state)
	if err := prove(NewDevice(swtpm.Dial(t, sock)), k, cred, point); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}

// A copied activation on a second machine: its TPM has no such key, or its
// own key at the same handle, and cannot open the first TPM's credential.
func TestProofOnAnotherTPM(t *testing.T) {
	a, _ := swtpm.Open(t)
	b, _ := swtpm.Open(t)
	da, db := NewDevice(a), NewDevice(b)
	k, cred, point := enrol(t, da)
	if err := prove(db, k, cred, point); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key at the handle on B: %v", err)
	}
	kb, err := db.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if kb.Handle != k.Handle {
		t.Fatalf("B's key at %#x, A's at %#x: the test wants the same handle", kb.Handle, k.Handle)
	}
	if err := prove(db, k, cred, point); !errors.Is(err, ErrNoKey) {
		t.Fatalf("another key at the handle on B: %v", err)
	}
	// B presents its own key for A's credential: its TPM cannot open it.
	if _, err := db.OpenCredential(kb.Handle, pointOf(t, kb), cred.Blob, cred.Secret); !errors.Is(err, ErrCredential) {
		t.Fatalf("B opening A's credential: %v", err)
	}
	// A credential made for B's key to A's EK: B cannot open it either.
	nb, _, _ := CheckAK(kb.Public)
	crossed, err := MakeCredential(k.EK, nb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenCredential(kb.Handle, pointOf(t, kb), crossed.Blob, crossed.Secret); !errors.Is(err, ErrCredential) {
		t.Fatalf("B opening a credential sealed to A's EK: %v", err)
	}
}

// TPM2_Clear evicts the endorsement hierarchy's persistent keys: the
// activation needs renewing, and the error says so.
func TestProofAfterClear(t *testing.T) {
	tpm, _ := swtpm.Open(t)
	d := NewDevice(tpm)
	k, cred, point := enrol(t, d)
	if _, err := (tpm2.Clear{AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHLockout, Auth: tpm2.PasswordAuth(nil)}}).Execute(tpm); err != nil {
		t.Fatalf("clear: %v", err)
	}
	err := prove(d, k, cred, point)
	if !errors.Is(err, ErrNoKey) {
		t.Fatalf("after a clear: %v", err)
	}
	if want := "TPM was cleared"; !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Fatalf("message %q does not say %q", err, want)
	}
}

// Returning a seat: the key signs the return, then is gone for good.
func TestReturn(t *testing.T) {
	tpm, _ := swtpm.Open(t)
	d := NewDevice(tpm)
	k, cred, point := enrol(t, d)
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	sig, err := d.Sign(k.Handle, activation.ReturnMessage(actID, at))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(k.Handle); err != nil {
		t.Fatal(err)
	}
	if !activation.VerifyAKSignature(point, activation.ReturnMessage(actID, at), sig) {
		t.Fatal("return statement does not verify")
	}
	if activation.VerifyAKSignature(point, activation.ReturnMessage(actID, at.Add(time.Second)), sig) {
		t.Fatal("return statement verifies for another time")
	}
	if err := prove(d, k, cred, point); !errors.Is(err, ErrNoKey) {
		t.Fatalf("after the return: %v", err)
	}
}

func TestEKCertificate(t *testing.T) {
	a, _ := swtpm.Open(t)
	b, _ := swtpm.Open(t)
	ka, _, _ := enrol(t, NewDevice(a))
	kb, _, _ := enrol(t, NewDevice(b))
	now := time.Now()
	if err := CheckEKCertificate(ka.EKCert, ka.EK, swtpm.LocalCA(t), now); err != nil {
		t.Fatalf("swtpm's certificate from its local CA: %v", err)
	}
	if err := CheckEKCertificate(ka.EKCert, ka.EK, x509.NewCertPool(), now); !errors.Is(err, ErrEKCert) {
		t.Fatalf("unknown CA: %v", err)
	}
	if err := CheckEKCertificate(kb.EKCert, ka.EK, swtpm.LocalCA(t), now); !errors.Is(err, ErrEKCert) {
		t.Fatalf("another TPM's certificate: %v", err)
	}
	id, err := EKIdentity(ka.EK)
	if err != nil || len(id) != len("rsa:")+64 {
		t.Fatalf("EK identity %q, %v", id, err)
	}
}

// An attestation key whose attributes let it leave the TPM, or that can
// decrypt, is refused: its Name would commit to those attributes.
func TestCheckAKRefuses(t *testing.T) {
	good := akTemplate(make([]byte, 32))
	good.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
		X: tpm2.TPM2BECCParameter{Buffer: fromHex("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296")},
		Y: tpm2.TPM2BECCParameter{Buffer: fromHex("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")},
	})
	if _, _, err := CheckAK(tpm2.Marshal(&good)); err != nil {
		t.Fatalf("a good template: %v", err)
	}
	for name, edit := range map[string]func(*tpm2.TPMTPublic){
		"not fixedTPM":      func(p *tpm2.TPMTPublic) { p.ObjectAttributes.FixedTPM = false },
		"not fixedParent":   func(p *tpm2.TPMTPublic) { p.ObjectAttributes.FixedParent = false },
		"imported":          func(p *tpm2.TPMTPublic) { p.ObjectAttributes.SensitiveDataOrigin = false },
		"not restricted":    func(p *tpm2.TPMTPublic) { p.ObjectAttributes.Restricted = false },
		"decrypts":          func(p *tpm2.TPMTPublic) { p.ObjectAttributes.Decrypt = true },
		"admin with policy": func(p *tpm2.TPMTPublic) { p.ObjectAttributes.AdminWithPolicy = true },
		"no user auth":      func(p *tpm2.TPMTPublic) { p.ObjectAttributes.UserWithAuth = false },
		"an auth policy":    func(p *tpm2.TPMTPublic) { p.AuthPolicy = tpm2.TPM2BDigest{Buffer: make([]byte, 32)} },
		"SHA-1 name":        func(p *tpm2.TPMTPublic) { p.NameAlg = tpm2.TPMAlgSHA1 },
		"point not on the curve": func(p *tpm2.TPMTPublic) {
			p.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{X: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)}, Y: tpm2.TPM2BECCParameter{Buffer: make([]byte, 32)}})
		},
	} {
		p := good
		edit(&p)
		if _, _, err := CheckAK(tpm2.Marshal(&p)); !errors.Is(err, ErrAttributes) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, _, err := CheckAK(append(tpm2.Marshal(&good), 0)); !errors.Is(err, ErrAttributes) {
		t.Errorf("trailing byte: %v", err)
	}
}

func fromHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func pointOf(t *testing.T, k *Key) []byte {
	t.Helper()
	_, p, err := CheckAK(k.Public)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
