package cborx

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want error // nil: accepted
	}{
		{"small uint", "17", nil},
		{"uint8", "1818", nil},
		{"negative", "3863", nil},
		{"uint16", "190100", nil},
		{"uint64", "1b0000000100000000", nil},
		{"sorted map", "a201020303", nil},
		{"sorted map by length first", "a2016161186400", nil},
		{"text", "6161", nil},
		{"bool and null", "83f4f5f6", nil},
		{"non-shortest uint8", "1817", ErrNonCanonical},
		{"non-shortest uint16", "1900ff", ErrNonCanonical},
		{"non-shortest uint32", "1a0000ffff", ErrNonCanonical},
		{"non-shortest uint64", "1b00000000ffffffff", ErrNonCanonical},
		{"non-shortest length", "5801aa", ErrNonCanonical},
		{"unsorted map", "a203030102", ErrNonCanonical},
		{"length-first order violated", "a2186400016161", ErrNonCanonical},
		{"duplicate key", "a201020103", ErrDuplicateKey},
		{"indefinite array", "9f01ff", ErrIndefinite},
		{"indefinite map", "bf0102ff", ErrIndefinite},
		{"indefinite bytes", "5f4101ff", ErrIndefinite},
		{"lone break", "ff", ErrMalformed},
		{"reserved ai", "1c", ErrMalformed},
		{"trailing", "0100", ErrTrailing},
		{"truncated", "1901", ErrMalformed},
		{"truncated string", "62aa", ErrMalformed},
		{"huge array count", "9bffffffffffffffff", ErrMalformed},
		{"huge string", "5bffffffffffffffff", ErrMalformed},
		{"tag", "c11a514b67b0", ErrUnsupported},
		{"float", "f93c00", ErrUnsupported},
		{"undefined", "f7", ErrUnsupported},
		{"two-byte simple", "f820", ErrUnsupported},
		{"bad utf8", "62c328", ErrMalformed},
		{"empty", "", ErrMalformed},
		{"deep nesting", "818181818181818181818181818181818181818101", ErrTooDeep},
	}
	for _, tc := range tests {
		b, err := hex.DecodeString(tc.hex)
		if err != nil {
			t.Fatal(err)
		}
		err = Check(b)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s: unexpected %v", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, tc.want) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want %v (and ErrMalformed)", tc.name, err, tc.want)
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%s: error is not a *cborx.Error", tc.name)
		}
	}
}

type sample struct {
	A uint64   `cbor:"1,keyasint"`
	B []string `cbor:"2,keyasint,omitempty"`
}

func TestUnmarshalCanonicalRoundTrip(t *testing.T) {
	var s sample
	if err := Unmarshal([]byte{0xa1, 0x01, 0x05}, &s); err != nil || s.A != 5 {
		t.Fatalf("good input: %v %+v", err, s)
	}
	// An empty array the encoder would omit has two encodings: refused.
	if err := Unmarshal([]byte{0xa2, 0x01, 0x05, 0x02, 0x80}, &s); !errors.Is(err, ErrNonCanonical) {
		t.Fatalf("explicit default: got %v", err)
	}
	if err := Unmarshal([]byte{0xa1, 0x03, 0x05}, &s); !errors.Is(err, ErrUnknownField) {
		t.Fatalf("unknown field: got %v", err)
	}
}

func FuzzCheck(f *testing.F) {
	for _, h := range []string{"a201020303", "9f01ff", "1817", "d28443a10127a0f6", "a3016161026162036163"} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := Check(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not match ErrMalformed: %v", err)
			}
			return
		}
		// Anything Check accepts is deterministic: decoding and encoding again
		// must give the same bytes.
		var v any
		if err := DecMode.Unmarshal(b, &v); err != nil {
			t.Fatalf("Check accepted what the decoder refuses: %v", err)
		}
		again, err := EncMode.Marshal(v)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if string(again) != string(b) {
			t.Fatalf("not deterministic:\n in  %x\n out %x", b, again)
		}
	})
}
