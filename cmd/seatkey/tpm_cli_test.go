package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/internal/swtpm"
)

// A TPM-bound activation through the CLI (SPEC.md 13): request --attest on
// a machine with a (software) TPM, activate, then verify: the machine with
// its TPM verifies; the same files on a machine with another TPM, or with
// the TPM hidden, are refused.
func TestTPMBoundActivationCLI(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	sockA, _ := swtpm.Start(t, swtpm.NewState(t))
	sockB, _ := swtpm.Start(t, swtpm.NewState(t))
	// A vendor that requires EK certificates from its manufacturers' CAs
	// refuses this swtpm, whose certificate comes from swtpm's local CA.
	os.WriteFile(p("roots.pem"), selfSignedCA(t), 0o644)
	for _, args := range [][]string{
		{"keygen", "--unencrypted", "-o", p("v")},
		{"ledger", "init", "--ledger", p("l.db")},
		{"mint", "--key", p("v.key"), "--product", "ledgerpro", "--customer", "Globex", "--edition", "pro", "--seats", "2",
			"--expires", "2099-01-01", "--ledger", p("l.db"), "-o", p("l.lic")},
		{"request", "--license", p("l.lic"), "--root", fixtures + "server", "--tpm", sockA, "--attest", "--label", "rack-1", "-o", p("r.req")},
	} {
		if r := runCLI(t, nil, args...); r.code != 0 {
			t.Fatalf("%s: %+v", args[0], r)
		}
	}
	if r := runCLI(t, nil, "activate", "--key", p("v.key"), "--ledger", p("l.db"), "--ek-roots", p("roots.pem"), "--require-ek-cert", "-o", p("acts"), p("r.req")); r.code != 1 || !strings.Contains(r.stdout, "does not chain to a trusted TPM manufacturer") {
		t.Fatalf("EK certificate from an unknown CA: %+v", r)
	}
	if r := runCLI(t, nil, "activate", "--key", p("v.key"), "--ledger", p("l.db"), "--require-ek-cert", p("r.req")); r.code != 2 {
		t.Fatalf("--require-ek-cert without roots: %+v", r)
	}
	for _, args := range [][]string{
		{"activate", "--key", p("v.key"), "--ledger", p("l.db"), "-o", p("acts"), p("r.req")},
	} {
		if r := runCLI(t, nil, args...); r.code != 0 {
			t.Fatalf("%s: %+v", args[0], r)
		}
	}
	acts, _ := filepath.Glob(p("acts/*"))
	if len(acts) != 1 {
		t.Fatalf("activation files: %v", acts)
	}
	if r := runCLI(t, nil, "inspect", acts[0]); r.code != 0 || !strings.Contains(r.stdout, "credential  bound to a TPM: attestation key at 0x81015e00") {
		t.Fatalf("inspect shows no credential: %+v", r)
	}
	verify := func(tpm string) result {
		return runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledgerpro", "--activation", acts[0],
			"--root", fixtures+"server", "--tpm", tpm, p("l.lic"))
	}
	if r := verify(sockA); r.code != 0 || !strings.Contains(r.stdout, "valid") {
		t.Fatalf("the machine with its TPM: %+v", r)
	}
	if r := verify(sockB); r.code != 1 || !strings.Contains(r.stderr, "tpm-ek changed") {
		t.Fatalf("another TPM: %+v", r)
	}
	if r := verify("none"); r.code != 1 || !strings.Contains(r.stderr, "tpm-ek was read at activation but cannot be read now") {
		t.Fatalf("TPM hidden: %+v", r)
	}
	// The device gives its seat back: a proof signed by its TPM key, the key
	// deleted; the vendor decommissions on that proof; the activation no
	// longer verifies there; a second use of the proof changes nothing.
	if r := runCLI(t, nil, "return", "--activation", acts[0], "--tpm", sockA, "-o", p("back.proof")); r.code != 0 || !strings.Contains(r.stderr, "the TPM key is deleted") {
		t.Fatalf("return: %+v", r)
	}
	if r := verify(sockA); r.code != 1 || !strings.Contains(r.stderr, "does not hold the activation's key") {
		t.Fatalf("after the return: %+v", r)
	}
	if r := runCLI(t, nil, "decommission", "--ledger", p("l.db"), "--proof", p("back.proof")); r.code != 0 || !strings.Contains(r.stdout, "decommissioned (returned by the device)") {
		t.Fatalf("decommission --proof: %+v", r)
	}
	if r := runCLI(t, nil, "decommission", "--ledger", p("l.db"), "--proof", p("back.proof")); r.code != 0 || !strings.Contains(r.stdout, "already decommissioned") {
		t.Fatalf("the proof again: %+v", r)
	}
	if r := runCLI(t, nil, "report", "--ledger", p("l.db"), "--csv=summary"); !strings.Contains(r.stdout, ",2,0,0,0.00") {
		t.Fatalf("the seat is not free: %+v", r)
	}
	// Without --attest a request on a machine without a TPM is an error where it is made.
	if r := runCLI(t, nil, "request", "--license", p("l.lic"), "--root", fixtures+"server", "--tpm", "none", "--attest", "-o", p("x.req")); r.code != 1 || !strings.Contains(r.stderr, "needs the machine's TPM") {
		t.Fatalf("--attest without a TPM: %+v", r)
	}
}

// selfSignedCA is a PEM CA certificate that certifies no TPM.
func selfSignedCA(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Not a TPM maker"}, IsCA: true,
		BasicConstraintsValid: true, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
