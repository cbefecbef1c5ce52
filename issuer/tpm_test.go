package issuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/attest"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/swtpm"
	"github.com/seatkey/seatkey/internal/testhw"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

// tpmMachine is synthetic machine n whose TPM is the swtpm at sock, read
// the way package machine reads it.
func tpmMachine(t *testing.T, n int, sock string) *fingerprint.Profile {
	t.Helper()
	ek, err := machine.ReadEK(sock)
	if err != nil {
		t.Fatal(err)
	}
	p := testhw.Machine(n)
	p.Set(fingerprint.TPMEK, ek)
	return p
}

// attestedRequest is what 'seatkey request --attest' makes: the fingerprint
// and an attestation key made in the TPM.
func attestedRequest(t *testing.T, tok []byte, p *fingerprint.Profile, d *attest.Device) []byte {
	t.Helper()
	k, err := d.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	r, err := activation.NewRequest(tok, p.Digest(product), "tpm-host", false)
	if err != nil {
		t.Fatal(err)
	}
	r.Attestation = &activation.Attestation{AK: k.Public, EK: k.EK, EKCert: k.EKCert, Handle: k.Handle}
	b, err := r.Armor()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tpmRig is a ledger, a license of the given seats and synthetic machine 1
// whose TPM is a fresh swtpm: the setup every TPM-bound ledger test shares.
type tpmRig struct {
	l   *Ledger
	k   *Key
	tok []byte
	p   *fingerprint.Profile
	dev *attest.Device
}

func newTPMRig(t *testing.T, seats int) *tpmRig {
	t.Helper()
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	sock, _ := swtpm.Start(t, swtpm.NewState(t))
	// The fingerprint's TPM component is read (and the connection closed)
	// before the attestation opens its own: swtpm serves one at a time.
	p := tpmMachine(t, 1, sock)
	return &tpmRig{l: l, k: k, tok: mintFor(t, k, "Globex", seats, license.Subscription, 0), p: p, dev: attest.NewDevice(swtpm.Dial(t, sock))}
}

// activate activates the rig's machine with a fresh attestation.
func (r *tpmRig) activate(t *testing.T) *Result {
	t.Helper()
	res, err := r.l.Activate(r.k, attestedRequest(t, r.tok, r.p, r.dev))
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TPM proof of possession end to end (SPEC.md 13) against real software
// TPMs: the activated machine verifies with its TPM; the same activation on
// a second TPM, without a TPM, or after a TPM clear is refused with the
// reason.
func TestTPMBoundActivation(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 3, license.Subscription, 0)
	// The fingerprint's TPM component is read (and the connection closed)
	// before the attestation opens its own connection: swtpm serves one.
	sockA, _ := swtpm.Start(t, swtpm.NewState(t))
	sockB, _ := swtpm.Start(t, swtpm.NewState(t))
	p := tpmMachine(t, 1, sockA)
	other := tpmMachine(t, 2, sockB) // machine 2 with TPM B
	tpmA, tpmB := swtpm.Dial(t, sockA), swtpm.Dial(t, sockB)
	devA := attest.NewDevice(tpmA)
	res, err := l.Activate(k, attestedRequest(t, tok, p, devA))
	if err != nil {
		t.Fatal(err)
	}
	opts := verifier.Options{Keys: verifier.NewKeyring(k.Public()), Product: product, Now: ledgerNow}
	verify := func(o verifier.Options) error {
		_, err := verifier.VerifyActivation(tok, res.Token, p.Digest(product), o)
		return err
	}
	o := opts
	o.TPM = devA
	if err := verify(o); err != nil {
		t.Fatalf("the activated machine with its TPM: %v", err)
	}
	if err := verify(opts); !errors.Is(err, verifier.ErrTPMRequired) {
		t.Fatalf("without the TPM: %v", err)
	}
	// A copy on a second machine with the same (faked) fingerprint but another TPM.
	devB := attest.NewDevice(tpmB)
	if _, err := devB.NewKey(); err != nil { // its own key at the same handle
		t.Fatal(err)
	}
	o.TPM = devB
	if err := verify(o); !errors.Is(err, verifier.ErrTPMProof) || !errors.Is(err, attest.ErrNoKey) {
		t.Fatalf("another TPM: %v", err)
	}
	// The TPM cleared: the key is gone, and the message says what to do.
	if _, err := (tpm2.Clear{AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHLockout, Auth: tpm2.PasswordAuth(nil)}}).Execute(tpmA); err != nil {
		t.Fatal(err)
	}
	o.TPM = devA
	if err := verify(o); !errors.Is(err, verifier.ErrTPMProof) || !strings.Contains(err.Error(), "TPM was cleared") {
		t.Fatalf("after a TPM clear: %v", err)
	}
	// An attestation from a TPM that is not the fingerprinted one is refused:
	// machine 1's fingerprint (TPM A) with TPM B's attestation.
	if _, err := l.Activate(k, attestedRequest(t, tok, p, devB)); !errors.Is(err, ErrAttestation) {
		t.Fatalf("attested TPM is not the fingerprinted one: %v", err)
	}
	// Machine 2 with its own TPM is attested fine.
	if _, err := l.Activate(k, attestedRequest(t, tok, other, devB)); err != nil {
		t.Fatalf("machine 2 with its own TPM: %v", err)
	}
}

// With EK certificates required, a TPM whose certificate does not chain to
// a configured manufacturer CA is refused; swtpm's local CA stands in for
// a manufacturer.
func TestTPMEKCertificatePolicy(t *testing.T) {
	r := newTPMRig(t, 3)
	l, k, tok, p, dev := r.l, r.k, r.tok, r.p, r.dev
	l.Now = time.Now // swtpm's certificates are issued now; the check uses the ledger's clock
	l.TPM = TPMPolicy{EKRoots: x509.NewCertPool(), RequireEKCert: true}
	if _, err := l.Activate(k, attestedRequest(t, tok, p, dev)); !errors.Is(err, ErrAttestation) || !errors.Is(err, attest.ErrEKCert) {
		t.Fatalf("unknown CA: %v", err)
	}
	l.TPM.EKRoots = swtpm.LocalCA(t)
	if _, err := l.Activate(k, attestedRequest(t, tok, p, dev)); err != nil {
		t.Fatalf("certificate from the configured CA: %v", err)
	}
}

// A return proof frees the seat only when the activation's own TPM key
// signed it; a device bound to its TPM cannot be activated again without
// attesting (a faked fingerprint would otherwise get an unbound activation).
func TestReturnProofAndNoDowngrade(t *testing.T) {
	r := newTPMRig(t, 3)
	l, k, tok, p, dev := r.l, r.k, r.tok, r.p, r.dev
	res := r.activate(t)
	// The same device asking again without attestation: refused.
	if _, err := l.Activate(k, requestFor(t, tok, p, "faked", false)); !errors.Is(err, ErrAttestation) || !strings.Contains(err.Error(), "attest again") {
		t.Fatalf("un-attested request for an attested device: %v", err)
	}
	claims := activationClaims(t, res.Token)
	sign := func(msg []byte) []byte {
		sig, err := dev.Sign(claims.Credential.Handle, msg)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	proof := func(id activation.ID, at time.Time, sig []byte) []byte {
		b, err := (&activation.ReturnProof{Activation: id, At: at, Signature: sig}).Armor()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	at := ledgerNow
	good := sign(activation.ReturnMessage(res.Activation, at))
	for name, bad := range map[string][]byte{
		"another time":       proof(res.Activation, at.Add(time.Second), good),
		"another activation": proof(activation.NewID(), at, good),
		"another key":        proof(res.Activation, at, signWithOtherKey(t, activation.ReturnMessage(res.Activation, at))),
		"future":             proof(res.Activation, at.AddDate(0, 0, 3), sign(activation.ReturnMessage(res.Activation, at.AddDate(0, 0, 3)))),
	} {
		if _, err := l.DecommissionWithProof(bad); !errors.Is(err, ErrBadProof) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if used := seatsUsed(t, l, tok); used != 1 {
		t.Fatalf("a refused proof changed the seats: %d", used)
	}
	d, err := l.DecommissionWithProof(proof(res.Activation, at, good))
	if err != nil || d != res.Device {
		t.Fatalf("genuine proof: %v %v", d, err)
	}
	if used := seatsUsed(t, l, tok); used != 0 {
		t.Fatalf("the seat is not free: %d", used)
	}
}

// signWithOtherKey signs msg with a fresh P-256 key: not the TPM's.
func signWithOtherKey(t *testing.T, msg []byte) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// A TPM-bound device checks in like any other (the server records it; it
// cannot ask the device's TPM), but a return without the device's signed
// proof is refused: a copy of the files must not free a bound seat.
func TestTPMBoundCheckInAndReturn(t *testing.T) {
	r := newTPMRig(t, 2)
	l, k, tok, p := r.l, r.k, r.tok, r.p
	res := r.activate(t)
	if _, err := l.CheckIn(k, res.Token, p.Digest(product), 0); err != nil {
		t.Fatalf("check-in of a TPM-bound device: %v", err)
	}
	if _, err := l.Return(k, res.Token, p.Digest(product)); !errors.Is(err, ErrBadActivation) || !strings.Contains(err.Error(), "signed proof") {
		t.Fatalf("a return without the proof: %v", err)
	}
	if used := seatsUsed(t, l, tok); used != 1 {
		t.Fatalf("the refused return changed the seats: %d", used)
	}
}

// A proof signed with a superseded activation's key (the device asked again
// and got a new key and activation) frees nothing.
func TestStaleReturnProofRefused(t *testing.T) {
	r := newTPMRig(t, 2)
	l, k, tok, p, dev := r.l, r.k, r.tok, r.p, r.dev
	old := r.activate(t)
	if _, err := l.Activate(k, attestedRequest(t, tok, p, dev)); err != nil { // the same device again: a new key
		t.Fatal(err)
	}
	oc := activationClaims(t, old.Token)
	sig, err := dev.Sign(oc.Credential.Handle, activation.ReturnMessage(old.Activation, ledgerNow))
	if err != nil {
		t.Fatal(err)
	}
	proof, _ := (&activation.ReturnProof{Activation: old.Activation, At: ledgerNow, Signature: sig}).Armor()
	if _, err := l.DecommissionWithProof(proof); !errors.Is(err, ErrBadProof) || !strings.Contains(err.Error(), "superseded") {
		t.Fatalf("stale proof: %v", err)
	}
	if used := seatsUsed(t, l, tok); used != 1 {
		t.Fatalf("the stale proof freed the seat: %d used", used)
	}
}

// A leased TPM-bound activation is refreshed with its credential unchanged
// (SPEC 10.4 rule 12): the refreshed token verifies only with that TPM, so
// a copy of the files that checks in gains a token it cannot use.
func TestTPMBoundLeaseRefresh(t *testing.T) {
	r := newTPMRig(t, 2)
	if err := r.l.RecordLicense(r.k, r.tok, LicensePolicy{Lease: week}); err != nil {
		t.Fatal(err)
	}
	res := r.activate(t)
	clock := ledgerNow.Add(6 * 24 * time.Hour)
	r.l.Now = func() time.Time { return clock }
	ci, err := r.l.CheckIn(r.k, res.Token, r.p.Digest(product), 0)
	if err != nil {
		t.Fatal(err)
	}
	before, after := activationClaims(t, res.Token), activationClaims(t, ci.Token)
	if after.Credential == nil || !reflect.DeepEqual(before.Credential, after.Credential) {
		t.Fatalf("refreshed credential %+v, want %+v", after.Credential, before.Credential)
	}
	opts := verifier.Options{Keys: verifier.NewKeyring(r.k.Public()), Product: product, Now: ledgerNow.Add(10 * 24 * time.Hour)}
	if _, err := verifier.VerifyActivation(r.tok, ci.Token, r.p.Digest(product), opts); !errors.Is(err, verifier.ErrTPMRequired) {
		t.Fatalf("the refreshed token without the TPM: %v", err)
	}
	opts.TPM = r.dev
	if _, err := verifier.VerifyActivation(r.tok, ci.Token, r.p.Digest(product), opts); err != nil {
		t.Fatalf("the refreshed token with its TPM after the first lease: %v", err)
	}
}
