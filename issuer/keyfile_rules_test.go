package issuer

import (
	"errors"
	"testing"
)

// A key file is something an attacker can hand an operator: its work
// parameters are bounded before any derivation runs, and it cannot name a
// key other than the one it holds.
func TestKeyFileBoundsAndID(t *testing.T) {
	k, _ := GenerateKey()
	other, _ := GenerateKey()
	enc, _ := k.Marshal([]byte("p"), fastKDF)
	for _, tc := range []struct {
		name string
		edit func(*encryptedKey)
	}{
		{"argon2 time above the bound", func(e *encryptedKey) { e.Time = maxKDFTime + 1 }},
		{"argon2 time 0", func(e *encryptedKey) { e.Time = 0 }},
		{"no threads", func(e *encryptedKey) { e.Threads = 0 }},
		{"memory below 8 KiB per thread", func(e *encryptedKey) { e.MemoryKiB = 8*e.Threads - 1 }},
		{"unknown derivation", func(e *encryptedKey) { e.KDF = 2 }},
	} {
		pf, err := parseKeyFile(enc)
		if err != nil {
			t.Fatal(err)
		}
		tc.edit(pf.Encrypted)
		bad, _ := marshalKeyFile(pf)
		if _, err := ParseKey(bad, []byte("p")); !errors.Is(err, ErrBadPrivateKey) || errors.Is(err, ErrPassphrase) {
			t.Errorf("%s: got %v, want ErrBadPrivateKey before any derivation", tc.name, err)
		}
	}
	// An unencrypted file naming another key's ID (nothing binds them but
	// the check after loading).
	plain, _ := k.Marshal(nil, fastKDF)
	pf, err := parseKeyFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	id := other.ID()
	pf.KID = id[:]
	bad, _ := marshalKeyFile(pf)
	if got, err := ParseKey(bad, nil); !errors.Is(err, ErrBadPrivateKey) {
		t.Fatalf("unencrypted file naming another key: %v (key %v)", err, got)
	}
}
