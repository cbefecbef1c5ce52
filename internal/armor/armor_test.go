package armor

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	for _, n := range []int{1, 47, 48, 49, 96, 200, 1000} {
		data := bytes.Repeat([]byte{0xa5, 0x17, 0x3c}, n)[:n]
		a := Encode("LICENSE", data)
		got, err := Decode("LICENSE", a)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("armor n=%d: %v", n, err)
		}
		crlf := bytes.ReplaceAll(a, []byte("\n"), []byte("\r\n"))
		if got, err := Decode("LICENSE", append([]byte("\n  "), crlf...)); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("CRLF armor n=%d: %v", n, err)
		}
		l := Line("REVOCATION LIST", data)
		if !strings.HasPrefix(l, "seatkey-revocation-list:") {
			t.Fatalf("line prefix: %s", l)
		}
		if got, err := Decode("REVOCATION LIST", []byte(l+"\n")); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("line n=%d: %v", n, err)
		}
	}
}

func TestStrict(t *testing.T) {
	good := string(Encode("LICENSE", bytes.Repeat([]byte{1}, 100)))
	lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
	tests := []struct {
		name, text string
		want       error
	}{
		{"other label", string(Encode("ACTIVATION", []byte{1})), ErrLabel},
		{"other label, line", Line("ACTIVATION", []byte{1}), ErrLabel},
		{"no footer", strings.Join(lines[:len(lines)-1], "\n"), ErrArmor},
		{"short line in the middle", lines[0] + "\n" + lines[1][:60] + "\n" + lines[1][60:] + lines[2] + "\n" + lines[3], ErrArmor},
		{"missing padding", strings.Replace(good, "==\n", "\n", 1), ErrArmor},
		{"non-canonical last bits", strings.Replace(good, "AQ==", "AR==", 1), ErrArmor},
		{"empty body", lines[0] + "\n\n" + lines[len(lines)-1], ErrArmor},
		{"junk after footer", good + "x", ErrArmor},
		{"line with padding", Line("LICENSE", []byte{1}) + "==", ErrArmor},
		{"line empty", "seatkey-license:", ErrArmor},
		{"not armor", "hello", ErrArmor},
	}
	for _, tc := range tests {
		_, err := Decode("LICENSE", []byte(tc.text))
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode("LICENSE", []byte("hello, world")))
	f.Add([]byte(Line("LICENSE", []byte{0xd2, 0x84})))
	f.Add([]byte("-----BEGIN SEATKEY LICENSE-----\n\n-----END SEATKEY LICENSE-----"))
	f.Fuzz(func(t *testing.T, b []byte) {
		data, err := Decode("LICENSE", b)
		if err != nil {
			if !errors.Is(err, ErrArmor) && !errors.Is(err, ErrLabel) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		// Whatever decodes must come back from one of the two canonical forms.
		if !bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(Encode("LICENSE", data))) &&
			!bytes.Equal(bytes.TrimSpace(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))), bytes.TrimSpace(Encode("LICENSE", data))) &&
			string(bytes.TrimSpace(b)) != Line("LICENSE", data) {
			t.Fatalf("accepted a non-canonical text form: %q", b)
		}
	})
}
