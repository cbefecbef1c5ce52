package license

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
)

// PublicKey is a vendor's Ed25519 verification key.
//
// Its file is the armored ("PUBLIC KEY") deterministic encoding of a COSE_Key
// (RFC 9052 §7): {1: 1 (OKP), 2: kid, 3: -8 (EdDSA), -1: 6 (Ed25519), -2: x}.
type PublicKey struct {
	Key ed25519.PublicKey
}

type coseKey struct {
	Kty int    `cbor:"1,keyasint"`
	Kid []byte `cbor:"2,keyasint"`
	Alg int    `cbor:"3,keyasint"`
	Crv int    `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
}

const (
	labelPublicKey = armor.PublicKey
	ktyOKP         = 1
	crvEd25519     = 6
)

// KeyIDOf returns the key ID of an Ed25519 public key.
func KeyIDOf(pub ed25519.PublicKey) KeyID {
	h := sha256.New()
	h.Write([]byte("seatkey key id\x00"))
	h.Write(pub)
	var id KeyID
	copy(id[:], h.Sum(nil))
	return id
}

// ID returns the key's ID, which tokens carry in their protected header.
func (k PublicKey) ID() KeyID { return KeyIDOf(k.Key) }

// MarshalBinary returns the COSE_Key encoding.
func (k PublicKey) MarshalBinary() ([]byte, error) {
	if len(k.Key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: want %d bytes", ErrBadKey, ed25519.PublicKeySize)
	}
	id := k.ID()
	return cborx.Marshal(coseKey{Kty: ktyOKP, Kid: id[:], Alg: -8, Crv: crvEd25519, X: k.Key})
}

// Armor returns the public key file's contents.
func (k PublicKey) Armor() []byte {
	b, err := k.MarshalBinary()
	if err != nil {
		return nil
	}
	return armor.Encode(labelPublicKey, b)
}

// Line returns the single-line form, handy for embedding in source code.
func (k PublicKey) Line() string {
	b, err := k.MarshalBinary()
	if err != nil {
		return ""
	}
	return armor.Line(labelPublicKey, b)
}

// ParsePublicKey reads a public key in either text form or as COSE_Key bytes.
// Text errors are ErrArmor, ErrWrongType or ErrTooLarge; anything wrong in
// the COSE_Key itself (CBOR, a missing or wrong kty, kid, alg, crv or x, any
// other parameter) is ErrBadKey.
func ParsePublicKey(b []byte) (PublicKey, error) {
	if len(b) > armor.MaxSize && !armor.Is(b) {
		return PublicKey{}, fmt.Errorf("public key: %w: %d bytes", ErrTooLarge, len(b))
	}
	if armor.Is(b) {
		var err error
		if b, err = armor.Decode(labelPublicKey, b); err != nil {
			return PublicKey{}, fmt.Errorf("public key: %w", err)
		}
	}
	var ck coseKey
	if err := cborx.Decode(b, &ck); err != nil {
		return PublicKey{}, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	if k, missing := cborx.Missing(b, []int64{1, 2, 3, -1, -2}, nil); missing {
		return PublicKey{}, fmt.Errorf("%w: parameter %s is missing", ErrBadKey, k)
	}
	if ck.Kty != ktyOKP || ck.Alg != -8 || ck.Crv != crvEd25519 {
		return PublicKey{}, fmt.Errorf("%w: not an Ed25519 (OKP, EdDSA) key", ErrBadKey)
	}
	if len(ck.X) != ed25519.PublicKeySize {
		return PublicKey{}, fmt.Errorf("%w: key must be %d bytes", ErrBadKey, ed25519.PublicKeySize)
	}
	k := PublicKey{Key: ed25519.PublicKey(bytes.Clone(ck.X))}
	if id := k.ID(); !bytes.Equal(ck.Kid, id[:]) {
		return PublicKey{}, fmt.Errorf("%w: key ID does not match the key", ErrBadKey)
	}
	return k, nil
}
