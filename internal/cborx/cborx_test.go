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
		{"repeated key after a larger one: unsorted, not duplicate", "a3010002000100", ErrNonCanonical},
		{"unsorted before a later duplicate", "a302000100010000", ErrNonCanonical},
		{"non-shortest key before its order is compared", "a20100180000", ErrNonCanonical},
		{"duplicate key whose value is bad", "a20100011c", ErrDuplicateKey},
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

func TestUnknownKeyAndMissing(t *testing.T) {
	keys := &Keys{Defined: []int64{1, 2, -65537}, Nested: map[int64]*Keys{-65537: {Defined: []int64{1}}}}
	enc := func(v any) []byte {
		b, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		v       any
		unknown string
		missing string
	}{
		{"all defined", map[int]any{1: "a", 2: 1, -65537: map[int]any{1: true}}, "", ""},
		{"unknown top-level key", map[int]any{1: "a", 2: 1, 3: 0, -65537: map[int]any{1: true}}, "3", ""},
		{"unknown nested key", map[int]any{1: "a", 2: 1, -65537: map[int]any{1: true, 2: 0}}, "2", ""},
		{"first unknown in encoding order", map[int]any{1: "a", 2: 1, 9: 0, -65537: map[int]any{7: 0}}, "9", "1 in -65537"},
		{"text key", map[any]any{1: "a", 2: 1, "x": 0, -65537: map[int]any{1: true}}, "a text string", ""},
		{"nested value not a map: left to the decoder", map[int]any{1: "a", 2: 1, -65537: []int{5}}, "", ""},
		{"missing top-level key", map[int]any{1: "a", -65537: map[int]any{1: true}}, "", "2"},
		{"missing nested key", map[int]any{1: "a", 2: 1, -65537: map[int]any{}}, "", "1 in -65537"},
	} {
		b := enc(tc.v)
		if err := Check(b); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		k, found := UnknownKey(b, keys)
		if found != (tc.unknown != "") || k != tc.unknown {
			t.Errorf("%s: UnknownKey %q %v, want %q", tc.name, k, found, tc.unknown)
		}
		m, missing := Missing(b, []int64{1, 2, -65537}, map[int64][]int64{-65537: {1}})
		if missing != (tc.missing != "") || m != tc.missing {
			t.Errorf("%s: Missing %q %v, want %q", tc.name, m, missing, tc.missing)
		}
	}
}

func TestUnknownFieldMatchesMalformed(t *testing.T) {
	var v struct {
		A int `cbor:"1,keyasint"`
	}
	err := Decode([]byte{0xa1, 0x02, 0x00}, &v)
	if !errors.Is(err, ErrUnknownField) || !errors.Is(err, ErrMalformed) {
		t.Fatalf("%v", err)
	}
}
