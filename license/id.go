package license

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
)

// ID is a license ID: the 16 bytes of the cti claim. Its text form is "lic_"
// followed by 26 lower-case base32 letters, and every command accepts it.
type ID [16]byte

// KeyID identifies a signing key: the first 8 bytes of
// SHA-256("seatkey key id" || 0x00 || public key). Text form "key_" + 13 letters.
type KeyID [8]byte

var (
	b32      = base32.StdEncoding.WithPadding(base32.NoPadding)
	b32Lower = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)
)

// NewID returns a random license ID.
func NewID() ID {
	var id ID
	if _, err := rand.Read(id[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return id
}

func (id ID) String() string    { return FormatID("lic", id[:]) }
func (id KeyID) String() string { return FormatID("key", id[:]) }

// MarshalText and UnmarshalText make IDs print as their text form in JSON.
func (id ID) MarshalText() ([]byte, error)    { return []byte(id.String()), nil }
func (id KeyID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	*id = v
	return err
}

func (id *KeyID) UnmarshalText(b []byte) error {
	v, err := ParseKeyID(string(b))
	*id = v
	return err
}

// ParseID parses the text form of a license ID.
func ParseID(s string) (ID, error) {
	var id ID
	return id, parseIDInto("lic", s, id[:])
}

// ParseKeyID parses the text form of a key ID.
func ParseKeyID(s string) (KeyID, error) {
	var id KeyID
	return id, parseIDInto("key", s, id[:])
}

// FormatID writes prefix "_" and the lower-case unpadded base32 of b: the text
// form of every seatkey identifier (lic_, key_, dev_, act_).
func FormatID(prefix string, b []byte) string {
	return string(AppendID(nil, prefix, b))
}

// AppendID appends the text form of an identifier to dst.
func AppendID(dst []byte, prefix string, b []byte) []byte {
	dst = append(dst, prefix...)
	dst = append(dst, '_')
	return b32Lower.AppendEncode(dst, b)
}

// ParseIDBytes parses FormatID's output for a given prefix and size.
func ParseIDBytes(prefix, s string, size int) ([]byte, error) {
	b := make([]byte, size)
	return b, parseIDInto(prefix, s, b)
}

func parseIDInto(prefix, s string, dst []byte) error {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok {
		return fmt.Errorf("%w: %q does not start with %s_", ErrBadID, s, prefix)
	}
	if len(rest) != b32.EncodedLen(len(dst)) || strings.ToLower(rest) != rest {
		return fmt.Errorf("%w: %q", ErrBadID, s)
	}
	b, err := b32.DecodeString(strings.ToUpper(rest))
	if err != nil || len(b) != len(dst) || FormatID(prefix, b) != s {
		return fmt.Errorf("%w: %q", ErrBadID, s)
	}
	copy(dst, b)
	return nil
}
