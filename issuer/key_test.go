package issuer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/internal/armor"
)

// fastKDF keeps tests quick; the format and code path are the same as DefaultKDF.
var fastKDF = KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func TestKeyFileRoundTrip(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, pass := range []string{"", "correct horse"} {
		b, err := k.Marshal([]byte(pass), fastKDF)
		if err != nil {
			t.Fatal(err)
		}
		// The seed in the clear: TestKeyFileSeedNotInTheClear (in the decoded bytes).
		got, err := ParseKey(b, []byte(pass))
		if err != nil || !bytes.Equal(got.priv, k.priv) {
			t.Fatalf("pass %q: %v", pass, err)
		}
		id, enc, err := KeyFileID(b)
		if err != nil || id != k.ID() || enc != (pass != "") {
			t.Fatalf("KeyFileID: %v %v", id, err)
		}
	}
	enc, _ := k.Marshal([]byte("right"), fastKDF)
	if _, err := ParseKey(enc, []byte("wrong")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := ParseKey(enc, nil); !errors.Is(err, ErrNeedPassphrase) {
		t.Fatalf("no passphrase: %v", err)
	}
}

func TestEncryptedSeedIsBoundToKID(t *testing.T) {
	k1, _ := GenerateKey()
	k2, _ := GenerateKey()
	f1, _ := k1.Marshal([]byte("p"), fastKDF)
	pf, _ := parseKeyFile(f1)
	id2 := k2.ID()
	pf.KID = id2[:] // relabel: the AAD must no longer match
	b, _ := marshalKeyFile(pf)
	if _, err := ParseKey(b, []byte("p")); !errors.Is(err, ErrPassphrase) {
		t.Fatalf("relabelled key: %v", err)
	}
}

func TestKeyFileLimits(t *testing.T) {
	k, _ := GenerateKey()
	b, _ := k.Marshal([]byte("p"), fastKDF)
	pf, _ := parseKeyFile(b)
	pf.Encrypted.MemoryKiB = 1 << 30 // would make the decoder allocate a terabyte
	bad, _ := marshalKeyFile(pf)
	if _, err := ParseKey(bad, []byte("p")); !errors.Is(err, ErrBadPrivateKey) {
		t.Fatalf("huge argon2 memory: %v", err)
	}
}

func TestWriteAndLoadKeyFiles(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "vendor")
	k, _ := GenerateKey()
	if err := WriteKeyFiles(name, k, []byte("pw"), fastKDF); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(name + ".key")
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	if err := WriteKeyFiles(name, k, nil, fastKDF); !errors.Is(err, ErrKeyFileExists) {
		t.Fatalf("overwrite: %v", err)
	}
	got, err := LoadKey(name+".key", []byte("pw"))
	if err != nil || got.ID() != k.ID() {
		t.Fatalf("load: %v", err)
	}
	pub, _ := os.ReadFile(name + ".pub")
	if !strings.Contains(string(pub), "BEGIN SEATKEY PUBLIC KEY") {
		t.Fatal("public key file")
	}
	os.Chmod(name+".key", 0o640)
	if _, err := LoadKey(name+".key", []byte("pw")); !errors.Is(err, ErrKeyPermissions) {
		t.Fatalf("group-readable key: %v", err)
	}
}

func FuzzParseKey(f *testing.F) {
	k, _ := NewKeyFromSeed(make([]byte, 32))
	plain, _ := k.Marshal(nil, fastKDF)
	enc, _ := k.Marshal([]byte("p"), fastKDF)
	f.Add(plain)
	f.Add(enc)
	f.Fuzz(func(t *testing.T, b []byte) {
		// A low cap on work: the decoder's own bounds are what is being tested.
		if pf, err := parseKeyFile(b); err == nil && pf.Encrypted != nil && pf.Encrypted.MemoryKiB*pf.Encrypted.Time > 1<<16 {
			return
		}
		pf, ferr := parseKeyFile(b)
		if ferr == nil {
			// Exact round trip of the file's binary content (the armor's own
			// canonical forms are internal/armor's fuzz property).
			again, err := marshalKeyFile(pf)
			in, _ := armor.Decode(labelPrivateKey, b)
			out, _ := armor.Decode(labelPrivateKey, again)
			if err != nil || len(in) == 0 || !bytes.Equal(in, out) {
				t.Fatalf("accepted key file does not re-encode identically: %v\n in %x\nout %x", err, in, out)
			}
		}
		k, err := ParseKey(b, []byte("p"))
		if err != nil {
			if !errors.Is(err, ErrBadPrivateKey) && !errors.Is(err, ErrPassphrase) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		if k == nil || ferr != nil {
			t.Fatalf("key %v accepted from a file parseKeyFile refuses (%v)", k, ferr)
		}
		// The key is the one the file names, and an unencrypted file is
		// exactly what Marshal writes for it.
		if id := k.ID(); !bytes.Equal(id[:], pf.KID) {
			t.Fatalf("accepted key %s from a file naming %x", id, pf.KID)
		}
		if pf.Encrypted == nil {
			plain, err := k.Marshal(nil, fastKDF)
			in, _ := armor.Decode(labelPrivateKey, b)
			out, _ := armor.Decode(labelPrivateKey, plain)
			if err != nil || !bytes.Equal(in, out) {
				t.Fatalf("unencrypted key file is not what Marshal writes: %v", err)
			}
		}
	})
}
