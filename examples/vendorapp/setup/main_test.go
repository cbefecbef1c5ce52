package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

// setup writes a fresh key each time, and files that verify together on the
// machine they were made for.
func TestSetup(t *testing.T) {
	keys, dir := t.TempDir(), t.TempDir()
	hw := machine.Options{Root: "../../../machine/testdata/hw/server", TPM: "none"}
	if err := setup(keys, dir, hw); err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(filepath.Join(keys, "vendor.pub"))
	test, _ := os.ReadFile("../../../testdata/vectors/test.pub")
	if bytes.Equal(pub, test) {
		t.Fatal("setup wrote the published test key")
	}
	kr, err := verifier.ParseKeyring(pub)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rl, err := verifier.ParseRevocationList(read("revocation.crl"), kr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := machine.Collect(hw)
	a, err := verifier.VerifyActivation(read("license.lic"), read("activation.act"), p.Digest(product), verifier.Options{Keys: kr, Product: product, Revocations: rl})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Expires.IsZero() {
		t.Fatal("the demo license must never expire")
	}
	if err := setup(keys, dir, hw); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(keys, "vendor.pub")); bytes.Equal(again, pub) {
		t.Fatal("a second setup reused the key")
	}
	// Too little hardware identity to be recognised later: refused at setup.
	if err := setup(keys, dir, machine.Options{Root: t.TempDir(), TPM: "none"}); err == nil {
		t.Fatal("activated a machine with no hardware identity")
	}
}
