package armor

import (
	"errors"
	"testing"
)

// Both text forms refuse oversized input with ErrTooLarge and accept
// exactly MaxSize: the bound is exact in both (SPEC.md section 6).
func TestSizeLimit(t *testing.T) {
	at := make([]byte, MaxSize)
	for name, enc := range map[string]func([]byte) []byte{
		"armored": func(b []byte) []byte { return Encode("LICENSE", b) },
		"line":    func(b []byte) []byte { return []byte(Line("LICENSE", b)) },
	} {
		if got, err := Decode("LICENSE", enc(at)); err != nil || len(got) != MaxSize {
			t.Errorf("%s, exactly %d bytes: %v", name, MaxSize, err)
		}
	}
	if got, err := Decode("LICENSE", []byte(Line("LICENSE", make([]byte, MaxSize+1)))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("line, %d bytes: got %d bytes, %v", MaxSize+1, len(got), err)
	}
	if got, err := Decode("LICENSE", Encode("LICENSE", make([]byte, MaxSize+1))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("armored, %d bytes: got %d bytes, %v", MaxSize+1, len(got), err)
	}
}
