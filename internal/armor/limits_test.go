package armor

import (
	"errors"
	"testing"
)

// Both text forms refuse oversized input before decoding it, and accept
// exactly MaxSize. The line form's bound is exact. The armored form's bound
// counts whole 64-column lines, so up to 32 bytes over MaxSize still decode
// today (EncodedLen(MaxSize) is not a whole number of lines); this test pins
// what holds: anything a line or more beyond is refused.
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
	if got, err := Decode("LICENSE", []byte(Line("LICENSE", make([]byte, MaxSize+1)))); !errors.Is(err, ErrArmor) {
		t.Errorf("line, %d bytes: got %d bytes, %v", MaxSize+1, len(got), err)
	}
	over := MaxSize + columns/4*3 + 1 // one full armor line beyond the slack
	if got, err := Decode("LICENSE", Encode("LICENSE", make([]byte, over))); !errors.Is(err, ErrArmor) {
		t.Errorf("armored, %d bytes: got %d bytes, %v", over, len(got), err)
	}
}
