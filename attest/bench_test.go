package attest

import (
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/seatkey/seatkey/internal/swtpm"
)

// The TPM round trips attestation adds, on swtpm over a unix socket, against
// the baseline every fingerprint already pays: regenerating the EK.
//
//	go test ./attest -run '^$' -bench . -count 6
func BenchmarkEKBaseline(b *testing.B) {
	tpm, _ := swtpm.Open(b)
	d := NewDevice(tpm)
	for b.Loop() {
		ek, err := d.ek()
		if err != nil {
			b.Fatal(err)
		}
		tpm2.FlushContext{FlushHandle: ek.ObjectHandle}.Execute(tpm)
	}
}

// Request time: a new attestation key, persisted, with the EK and its certificate.
func BenchmarkNewKey(b *testing.B) {
	tpm, _ := swtpm.Open(b)
	d := NewDevice(tpm)
	for b.Loop() {
		k, err := d.NewKey()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		d.Delete(k.Handle)
		b.StartTimer()
	}
}

// Activation time, on the issuer: check the key, seal a credential (no TPM).
func BenchmarkIssue(b *testing.B) {
	tpm, _ := swtpm.Open(b)
	k, err := NewDevice(tpm).NewKey()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		name, _, err := CheckAK(k.Public)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := MakeCredential(k.EK, name); err != nil {
			b.Fatal(err)
		}
	}
}

// Verification time: open the credential and sign a fresh nonce.
func BenchmarkProve(b *testing.B) {
	tpm, _ := swtpm.Open(b)
	d := NewDevice(tpm)
	k, err := d.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	name, point, _ := CheckAK(k.Public)
	cred, _ := MakeCredential(k.EK, name)
	for b.Loop() {
		if err := prove(d, k, cred, point); err != nil {
			b.Fatal(err)
		}
	}
}
