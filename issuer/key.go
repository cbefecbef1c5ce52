package issuer

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

// Errors about private keys.
var (
	ErrBadPrivateKey  = errors.New("malformed private key")
	ErrPassphrase     = errors.New("wrong passphrase or damaged private key")
	ErrNeedPassphrase = errors.New("private key is encrypted: a passphrase is needed")
	ErrKeyPermissions = errors.New("private key file is readable by group or others")
	ErrKeyFileExists  = errors.New("key file already exists")
)

// Key is a vendor's Ed25519 signing key.
type Key struct {
	priv ed25519.PrivateKey
}

// GenerateKey returns a new random signing key.
func GenerateKey() (*Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Key{priv: priv}, nil
}

// NewKeyFromSeed returns the key for a 32-byte Ed25519 seed (test vectors use this).
func NewKeyFromSeed(seed []byte) (*Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: seed must be %d bytes", ErrBadPrivateKey, ed25519.SeedSize)
	}
	return &Key{priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// Public returns the verification key.
func (k *Key) Public() license.PublicKey {
	return license.PublicKey{Key: k.priv.Public().(ed25519.PublicKey)}
}

// ID returns the key ID.
func (k *Key) ID() license.KeyID { return k.Public().ID() }

// KDFParams are the argon2id parameters used to encrypt a private key.
type KDFParams struct {
	Time, MemoryKiB uint32
	Threads         uint8
}

// DefaultKDF is RFC 9106's second recommended argon2id option (64 MiB, t=3, p=4).
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4}

// Bounds a decoder enforces, so a crafted key file cannot demand unbounded work.
const (
	maxKDFTime      = 16
	maxKDFMemoryKiB = 1 << 20 // 1 GiB
	labelPrivateKey = "PRIVATE KEY"
	kdfArgon2id     = 1
)

type privateKeyFile struct {
	KID       []byte        `cbor:"1,keyasint"`
	Seed      []byte        `cbor:"2,keyasint,omitempty"`
	Encrypted *encryptedKey `cbor:"3,keyasint,omitempty"`
}

type encryptedKey struct {
	_         struct{} `cbor:",toarray"`
	KDF       uint64
	Salt      []byte
	Time      uint64
	MemoryKiB uint64
	Threads   uint64
	Nonce     []byte
	Sealed    []byte
}

func keyAAD(kid []byte) []byte { return append([]byte("seatkey private key\x00"), kid...) }

// Marshal returns the private key file's contents, encrypted with passphrase
// (argon2id, then ChaCha20-Poly1305) unless passphrase is empty.
func (k *Key) Marshal(passphrase []byte, p KDFParams) ([]byte, error) {
	id := k.ID()
	f := privateKeyFile{KID: id[:]}
	if len(passphrase) == 0 {
		f.Seed = k.priv.Seed()
	} else {
		if p.Time < 1 || p.Time > maxKDFTime || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB || p.Threads < 1 {
			return nil, fmt.Errorf("issuer: argon2id parameters out of range")
		}
		e := &encryptedKey{KDF: kdfArgon2id, Salt: make([]byte, 16), Time: uint64(p.Time), MemoryKiB: uint64(p.MemoryKiB), Threads: uint64(p.Threads), Nonce: make([]byte, chacha20poly1305.NonceSize)}
		if _, err := rand.Read(e.Salt); err != nil {
			return nil, err
		}
		if _, err := rand.Read(e.Nonce); err != nil {
			return nil, err
		}
		aead, _ := chacha20poly1305.New(argon2.IDKey(passphrase, e.Salt, p.Time, p.MemoryKiB, p.Threads, chacha20poly1305.KeySize))
		e.Sealed = aead.Seal(nil, e.Nonce, k.priv.Seed(), keyAAD(f.KID))
		f.Encrypted = e
	}
	return marshalKeyFile(&f)
}

// KeyFileID returns the key ID recorded in a private key file without decrypting it.
func KeyFileID(text []byte) (license.KeyID, bool, error) {
	f, err := parseKeyFile(text)
	if err != nil {
		return license.KeyID{}, false, err
	}
	var id license.KeyID
	copy(id[:], f.KID)
	return id, f.Encrypted != nil, nil
}

func parseKeyFile(text []byte) (*privateKeyFile, error) {
	b, err := armor.Decode(labelPrivateKey, text)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPrivateKey, err)
	}
	var f privateKeyFile
	if err := cborx.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPrivateKey, err)
	}
	if len(f.KID) != len(license.KeyID{}) {
		return nil, fmt.Errorf("%w: key ID must be %d bytes", ErrBadPrivateKey, len(license.KeyID{}))
	}
	if (f.Seed == nil) == (f.Encrypted == nil) {
		return nil, fmt.Errorf("%w: exactly one of seed and encrypted seed must be present", ErrBadPrivateKey)
	}
	if f.Seed != nil && len(f.Seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: seed must be %d bytes", ErrBadPrivateKey, ed25519.SeedSize)
	}
	if e := f.Encrypted; e != nil {
		switch {
		case e.KDF != kdfArgon2id:
			return nil, fmt.Errorf("%w: unknown key derivation %d", ErrBadPrivateKey, e.KDF)
		case len(e.Salt) != 16, len(e.Nonce) != chacha20poly1305.NonceSize, len(e.Sealed) != ed25519.SeedSize+chacha20poly1305.Overhead:
			return nil, fmt.Errorf("%w: wrong field size in encrypted seed", ErrBadPrivateKey)
		case e.Time < 1 || e.Time > maxKDFTime, e.Threads < 1 || e.Threads > 255, e.MemoryKiB < 8*e.Threads || e.MemoryKiB > maxKDFMemoryKiB:
			return nil, fmt.Errorf("%w: argon2id parameters out of range", ErrBadPrivateKey)
		}
	}
	return &f, nil
}

// ParseKey reads a private key file; passphrase is needed if it is encrypted.
func ParseKey(text, passphrase []byte) (*Key, error) {
	f, err := parseKeyFile(text)
	if err != nil {
		return nil, err
	}
	seed := f.Seed
	if e := f.Encrypted; e != nil {
		if len(passphrase) == 0 {
			return nil, ErrNeedPassphrase
		}
		aead, _ := chacha20poly1305.New(argon2.IDKey(passphrase, e.Salt, uint32(e.Time), uint32(e.MemoryKiB), uint8(e.Threads), chacha20poly1305.KeySize))
		if seed, err = aead.Open(nil, e.Nonce, e.Sealed, keyAAD(f.KID)); err != nil {
			return nil, ErrPassphrase
		}
	}
	k, err := NewKeyFromSeed(seed)
	if err != nil {
		return nil, err
	}
	if id := k.ID(); !bytes.Equal(id[:], f.KID) {
		return nil, fmt.Errorf("%w: key ID does not match the key", ErrBadPrivateKey)
	}
	return k, nil
}

// LoadKey reads a private key file, refusing one that group or others can read.
func LoadKey(path string, passphrase []byte) (*Key, error) {
	if err := checkPrivate(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseKey(b, passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func checkPrivate(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s: %w (mode %04o); run chmod 600 %s", path, ErrKeyPermissions, st.Mode().Perm(), path)
	}
	return nil
}

// WriteKeyFiles writes name+".key" (mode 0600, encrypted if passphrase is not
// empty) and name+".pub". It never overwrites an existing file.
func WriteKeyFiles(name string, k *Key, passphrase []byte, p KDFParams) error {
	priv, err := k.Marshal(passphrase, p)
	if err != nil {
		return err
	}
	if err := writeNew(name+".key", priv, 0o600); err != nil {
		return err
	}
	if err := writeNew(name+".pub", k.Public().Armor(), 0o644); err != nil {
		os.Remove(name + ".key")
		return err
	}
	return nil
}

// writeNew creates path with mode, failing if it exists, and syncs it.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", path, ErrKeyFileExists)
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil { // umask may have narrowed it; never widen beyond mode
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func marshalKeyFile(f *privateKeyFile) ([]byte, error) {
	b, err := cborx.Marshal(f)
	if err != nil {
		return nil, err
	}
	return armor.Encode(labelPrivateKey, b), nil
}
