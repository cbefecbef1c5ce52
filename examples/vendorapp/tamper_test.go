package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// A customer's edits inside the signed payload, re-armored so that the file
// is well formed: only the signature check can refuse them. (Editing the
// armor's BEGIN line, as TestRefusesToStart does, is refused before the
// signature is ever checked.)
func TestRefusesTamperedPayload(t *testing.T) {
	text, err := os.ReadFile(vectorLicense)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := license.Decode(license.TypeLicense, text)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"seats 25 to 99", "\x03\x18\x19", "\x03\x18\x63"},
		{"another customer", "Globex Corp", "Globex Corq"},
		{"later expiry", "\x04\x1a\x6b\x49\x61\x80", "\x04\x1a\x7b\x49\x61\x80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Count(raw, []byte(tc.from)) != 1 {
				t.Fatalf("%x not found once in the vector", tc.from)
			}
			edited := bytes.Replace(raw, []byte(tc.from), []byte(tc.to), 1)
			path := filepath.Join(t.TempDir(), "edited.lic")
			if err := os.WriteFile(path, license.Armor(license.TypeLicense, edited), 0o644); err != nil {
				t.Fatal(err)
			}
			// The edit is well formed: it still reads as a license.
			if _, err := license.Inspect(license.Armor(license.TypeLicense, edited)); err != nil {
				t.Fatalf("edited license no longer parses, so this would not reach the signature: %v", err)
			}
			err := start(&bytes.Buffer{}, path, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
			if !errors.Is(err, verifier.ErrSignature) {
				t.Fatalf("edited license: got %v, want %v", err, verifier.ErrSignature)
			}
		})
	}
}
