// Package cborx is seatkey's strict CBOR layer: a validator that accepts only
// the deterministic encoding of RFC 8949 §4.2.1 (core deterministic encoding),
// and the encoder and decoder modes every seatkey format uses.
//
// fxamacker/cbor alone accepts non-shortest integers and unsorted maps, so every
// decoder in seatkey first runs Check over the raw bytes, then decodes, then
// re-encodes the decoded value and compares: one meaning, one encoding.
package cborx

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// Errors returned by Check. All of them also match ErrMalformed.
var (
	ErrMalformed    = errors.New("malformed CBOR")
	ErrNonCanonical = errors.New("CBOR not in deterministic encoding")
	ErrIndefinite   = errors.New("CBOR indefinite length")
	ErrDuplicateKey = errors.New("CBOR duplicate map key")
	ErrTrailing     = errors.New("trailing bytes after CBOR item")
	ErrTooDeep      = errors.New("CBOR nested too deeply")
	ErrUnsupported  = errors.New("CBOR type not allowed here")
)

// Error is a Check failure: what went wrong and where.
type Error struct {
	Offset int   // -1: the item as a whole
	Err    error // one of the sentinel errors above
	Detail string
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		if e.Detail == "" {
			return e.Err.Error()
		}
		return fmt.Sprintf("%v: %s", e.Err, e.Detail)
	}
	if e.Detail != "" {
		return fmt.Sprintf("%v at byte %d: %s", e.Err, e.Offset, e.Detail)
	}
	return fmt.Sprintf("%v at byte %d", e.Err, e.Offset)
}

// Unwrap makes both the specific error and ErrMalformed match errors.Is.
func (e *Error) Unwrap() []error {
	if e.Err == ErrMalformed {
		return []error{ErrMalformed}
	}
	return []error{e.Err, ErrMalformed}
}

// MaxDepth is how deeply arrays and maps may nest in any seatkey structure.
const MaxDepth = 16

// Check reports whether b is exactly one CBOR data item in deterministic
// encoding, with definite lengths, no tags, no floating-point or undefined
// values, valid UTF-8 text, sorted unique map keys that are integers or text
// strings, and nothing after it.
func Check(b []byte) error {
	c := checker{b: b}
	if err := c.item(0); err != nil {
		return err
	}
	if c.off != len(b) {
		return &Error{Offset: c.off, Err: ErrTrailing, Detail: fmt.Sprintf("%d extra bytes", len(b)-c.off)}
	}
	return nil
}

type checker struct {
	b   []byte
	off int
}

func (c *checker) fail(err error, detail string) error {
	return &Error{Offset: c.off, Err: err, Detail: detail}
}

// head reads an initial byte and its argument, enforcing the shortest form.
func (c *checker) head() (major byte, arg uint64, err error) {
	if c.off >= len(c.b) {
		return 0, 0, c.fail(ErrMalformed, "unexpected end of data")
	}
	ib := c.b[c.off]
	major, ai := ib>>5, ib&0x1f
	start := c.off
	c.off++
	switch {
	case ai < 24:
		return major, uint64(ai), nil
	case ai == 31:
		c.off = start
		if major == 7 {
			return 0, 0, c.fail(ErrMalformed, "unexpected break code")
		}
		return 0, 0, c.fail(ErrIndefinite, "")
	case ai > 27:
		c.off = start
		return 0, 0, c.fail(ErrMalformed, fmt.Sprintf("reserved additional information %d", ai))
	}
	n := 1 << (ai - 24)
	if len(c.b)-c.off < n {
		c.off = start
		return 0, 0, c.fail(ErrMalformed, "unexpected end of data")
	}
	for i := 0; i < n; i++ {
		arg = arg<<8 | uint64(c.b[c.off+i])
	}
	c.off += n
	if major == 7 {
		// Floats (ai 25..27) and two-byte simple values are never used.
		c.off = start
		if ai == 24 {
			return 0, 0, c.fail(ErrUnsupported, "simple value")
		}
		return 0, 0, c.fail(ErrUnsupported, "floating-point number")
	}
	var min uint64
	switch ai {
	case 24:
		min = 24
	case 25:
		min = 1 << 8
	case 26:
		min = 1 << 16
	case 27:
		min = 1 << 32
	}
	if arg < min {
		c.off = start
		return 0, 0, c.fail(ErrNonCanonical, "integer or length not in shortest form")
	}
	return major, arg, nil
}

func (c *checker) item(depth int) error {
	if depth > MaxDepth {
		return c.fail(ErrTooDeep, "")
	}
	start := c.off
	major, arg, err := c.head()
	if err != nil {
		return err
	}
	switch major {
	case 0:
		return nil
	case 1:
		if arg >= 1<<63 {
			c.off = start
			return c.fail(ErrUnsupported, "negative integer below -2^63")
		}
		return nil
	case 2, 3:
		if arg > uint64(len(c.b)-c.off) {
			c.off = start
			return c.fail(ErrMalformed, "string longer than the data")
		}
		s := c.b[c.off : c.off+int(arg)]
		if major == 3 && !utf8.Valid(s) {
			c.off = start
			return c.fail(ErrMalformed, "text string is not valid UTF-8")
		}
		c.off += int(arg)
		return nil
	case 4:
		// Every element takes at least one byte: bound the count by what is left.
		if arg > uint64(len(c.b)-c.off) {
			c.off = start
			return c.fail(ErrMalformed, "array longer than the data")
		}
		for i := uint64(0); i < arg; i++ {
			if err := c.item(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case 5:
		if arg > uint64(len(c.b)-c.off)/2 {
			c.off = start
			return c.fail(ErrMalformed, "map longer than the data")
		}
		var prev []byte
		for i := uint64(0); i < arg; i++ {
			ks := c.off
			if ks < len(c.b) && c.b[ks]>>5 != 0 && c.b[ks]>>5 != 1 && c.b[ks]>>5 != 3 {
				return c.fail(ErrUnsupported, "map key that is not an integer or text string")
			}
			if err := c.item(depth + 1); err != nil {
				return err
			}
			key := c.b[ks:c.off]
			if prev != nil {
				switch bytes.Compare(prev, key) {
				case 0:
					c.off = ks
					return c.fail(ErrDuplicateKey, "")
				case 1:
					c.off = ks
					return c.fail(ErrNonCanonical, "map keys not in sorted order")
				}
			}
			prev = key
			if err := c.item(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case 6:
		c.off = start
		return c.fail(ErrUnsupported, fmt.Sprintf("tag %d", arg))
	default: // 7: false, true, null only.
		if arg < 20 || arg == 23 {
			c.off = start
			return c.fail(ErrUnsupported, fmt.Sprintf("simple value %d", arg))
		}
		return nil
	}
}

// EncMode is the deterministic encoder every seatkey format uses.
var EncMode cbor.EncMode

// DecMode is the strict decoder used after Check has passed.
var DecMode cbor.DecMode

func init() {
	var err error
	EncMode, err = cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	DecMode, err = cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		TagsMd:            cbor.TagsForbidden,
		MaxNestedLevels:   MaxDepth + 1,
		MaxArrayElements:  1 << 24,
		MaxMapPairs:       1 << 20,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
		UTF8:              cbor.UTF8RejectInvalid,
		IntDec:            cbor.IntDecConvertNone,
	}.DecMode()
	if err != nil {
		panic(err)
	}
}

// ErrUnknownField is returned by Decode and Unmarshal for a map key the Go
// type does not define. It comes as an *Error, so it also matches ErrMalformed;
// formats that call such a key something else (ErrUnknownClaim) say so.
var ErrUnknownField = errors.New("CBOR map key not defined here")

// Unmarshal checks b strictly, decodes it into v and verifies that encoding v
// again gives back b exactly, so that no value has two accepted encodings
// (for example a default value written out that the encoder would omit).
func Unmarshal(b []byte, v any) error {
	if err := Decode(b, v); err != nil {
		return err
	}
	return Canonical(b, v)
}

// Decode checks b strictly and decodes it into v. Callers that validate v
// before Canonical get clearer errors for missing fields.
func Decode(b []byte, v any) error {
	if err := Check(b); err != nil {
		return err
	}
	if err := DecMode.Unmarshal(b, v); err != nil {
		var uf *cbor.UnknownFieldError
		if errors.As(err, &uf) {
			return &Error{Offset: -1, Err: ErrUnknownField, Detail: err.Error()}
		}
		return &Error{Offset: -1, Err: ErrMalformed, Detail: err.Error()}
	}
	return nil
}

// Canonical reports an error unless encoding v gives back b exactly.
func Canonical(b []byte, v any) error {
	again, err := EncMode.Marshal(v)
	if err != nil {
		return &Error{Offset: -1, Err: ErrMalformed, Detail: err.Error()}
	}
	if !bytes.Equal(again, b) {
		return &Error{Offset: -1, Err: ErrNonCanonical, Detail: "a value is encoded that the deterministic form omits or writes differently"}
	}
	return nil
}

// Marshal encodes v deterministically.
func Marshal(v any) ([]byte, error) { return EncMode.Marshal(v) }
