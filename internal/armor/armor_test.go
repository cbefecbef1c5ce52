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
		{"other label", string(Encode("ACTIVATION", []byte{1})), ErrWrongType},
		{"other label, line", Line("ACTIVATION", []byte{1}), ErrWrongType},
		{"unknown label", string(Encode("CERTIFICATE", []byte{1})), ErrArmor},
		{"unknown label, line", "seatkey-certificate:AQ", ErrArmor},
		{"label in the wrong case, line", "seatkey-License:AQ", ErrArmor},
		{"line break inside a line", Line("LICENSE", bytes.Repeat([]byte{1}, 60))[:40] + "\n" + Line("LICENSE", bytes.Repeat([]byte{1}, 60))[40:], ErrArmor},
		{"CRLF inside a line", Line("LICENSE", bytes.Repeat([]byte{1}, 60))[:40] + "\r\n" + Line("LICENSE", bytes.Repeat([]byte{1}, 60))[40:], ErrArmor},
		{"lone CR in the body", strings.Replace(good, "\n", "\r\r\n", 2), ErrArmor},
		{"BOM in the middle", strings.Replace(good, "\n", "\n\ufeff", 1), ErrArmor},
		{"too large", string(Encode("LICENSE", make([]byte, MaxSize+1))), ErrTooLarge},
		{"too large, line", Line("LICENSE", make([]byte, MaxSize+1)), ErrTooLarge},
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
			if !errors.Is(err, ErrArmor) && !errors.Is(err, ErrWrongType) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		// Whatever decodes must come back from one of the two canonical forms.
		b = bytes.TrimPrefix(b, []byte("\ufeff"))
		if !bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(Encode("LICENSE", data))) &&
			!bytes.Equal(bytes.TrimSpace(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))), bytes.TrimSpace(Encode("LICENSE", data))) &&
			string(bytes.TrimSpace(b)) != Line("LICENSE", data) {
			t.Fatalf("accepted a non-canonical text form: %q", b)
		}
	})
}

// Windows editors save with CRLF line ends and a UTF-8 byte order mark: both
// are accepted, in both forms, and nothing else changes.
func TestWindowsText(t *testing.T) {
	data := bytes.Repeat([]byte{0xd2, 0x84, 0x58}, 70)
	crlf := bytes.ReplaceAll(Encode("LICENSE", data), []byte("\n"), []byte("\r\n"))
	for name, text := range map[string][]byte{
		"armored, CRLF and BOM": append([]byte("\ufeff"), crlf...),
		"armored, BOM":          append([]byte("\ufeff"), Encode("LICENSE", data)...),
		"line, BOM and CRLF":    []byte("\ufeff" + Line("LICENSE", data) + "\r\n"),
	} {
		if !Is(text) {
			t.Errorf("%s: not recognised as text", name)
		}
		if l, err := Label(text); err != nil || l != License {
			t.Errorf("%s: label %q, %v", name, l, err)
		}
		got, err := Decode("LICENSE", text)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A BOM anywhere but at the very start is not white space.
	if _, err := Decode("LICENSE", append([]byte(" \ufeff"), crlf...)); !errors.Is(err, ErrArmor) {
		t.Errorf("BOM after white space: %v", err)
	}
}

// The size limit follows the label: a revocation list may be 64 MiB, every
// other object 64 KiB, in both text forms.
func TestLimitPerLabel(t *testing.T) {
	big := make([]byte, MaxSize+1)
	for _, form := range []func(string, []byte) []byte{Encode, func(l string, d []byte) []byte { return []byte(Line(l, d)) }} {
		if _, err := Decode(RevocationList, form(RevocationList, big)); err != nil {
			t.Errorf("revocation list of %d bytes: %v", len(big), err)
		}
		for _, l := range Labels {
			if l == RevocationList {
				continue
			}
			if _, err := Decode(l, form(l, big)); !errors.Is(err, ErrTooLarge) {
				t.Errorf("%s of %d bytes: %v", l, len(big), err)
			}
			if _, err := Decode(l, form(l, big[:MaxSize])); err != nil {
				t.Errorf("%s of %d bytes: %v", l, MaxSize, err)
			}
		}
	}
}

// Binary objects are never taken for text: every one starts with a map or tag byte.
func TestIsBinary(t *testing.T) {
	for b := 0xa0; b <= 0xdf; b++ {
		if Is([]byte{byte(b), ' ', 's'}) {
			t.Fatalf("%#x taken for text", b)
		}
	}
}
