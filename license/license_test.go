package license_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/license"
)

func base() license.Claims {
	return license.Claims{
		ID: license.ID{1}, Vendor: "Acme", Customer: "Globex", Product: "ledger",
		IssuedAt: time.Unix(1_760_000_000, 0).UTC(), Expires: time.Unix(1_790_000_000, 0).UTC(),
		Edition: "pro", Features: []string{"api", "sso"}, Seats: 5, Kind: license.Subscription,
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	for _, c := range []license.Claims{base(), func() license.Claims {
		c := base()
		c.Kind, c.Expires, c.UpgradesUntil, c.Major, c.Failover = license.Perpetual, time.Time{}, time.Unix(1_800_000_000, 0).UTC(), 7, 3
		c.NotBefore = c.IssuedAt.Add(time.Hour)
		return c
	}()} {
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, err := license.ParseClaims(b)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != c.Kind || got.Major != c.Major || got.Failover != c.Failover || !got.NotBefore.Equal(firstNonZero(c.NotBefore, c.IssuedAt)) ||
			!got.UpgradesUntil.Equal(firstNonZero(c.UpgradesUntil, c.Expires)) || strings.Join(got.Features, ",") != strings.Join(c.Features, ",") {
			t.Fatalf("round trip: got %+v want %+v", got, c)
		}
	}
}

func firstNonZero(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*license.Claims)
	}{
		{"no vendor", func(c *license.Claims) { c.Vendor = "" }},
		{"no customer", func(c *license.Claims) { c.Customer = "" }},
		{"no product", func(c *license.Claims) { c.Product = "" }},
		{"no edition", func(c *license.Claims) { c.Edition = "" }},
		{"long product", func(c *license.Claims) { c.Product = strings.Repeat("x", 257) }},
		{"bad utf8", func(c *license.Claims) { c.Customer = "\xff" }},
		{"zero ID", func(c *license.Claims) { c.ID = license.ID{} }},
		{"no iat", func(c *license.Claims) { c.IssuedAt = time.Time{} }},
		{"zero seats", func(c *license.Claims) { c.Seats = 0 }},
		{"negative failover", func(c *license.Claims) { c.Failover = -1 }},
		{"no kind", func(c *license.Claims) { c.Kind = 0 }},
		{"unknown kind", func(c *license.Claims) { c.Kind = 9 }},
		{"subscription without expiry", func(c *license.Claims) { c.Expires = time.Time{} }},
		{"perpetual with expiry", func(c *license.Claims) { c.Kind = license.Perpetual; c.UpgradesUntil = c.Expires }},
		{"perpetual without upgrades end", func(c *license.Claims) { c.Kind = license.Perpetual; c.Expires = time.Time{} }},
		{"expiry before start", func(c *license.Claims) { c.Expires = c.IssuedAt.Add(-time.Hour) }},
		{"unsorted features", func(c *license.Claims) { c.Features = []string{"sso", "api"} }},
		{"duplicate features", func(c *license.Claims) { c.Features = []string{"api", "api"} }},
		{"empty feature", func(c *license.Claims) { c.Features = []string{""} }},
	}
	if err := base().Validate(); err != nil {
		t.Fatalf("base: %v", err)
	}
	for _, tc := range tests {
		c := base()
		tc.mod(&c)
		if err := c.Validate(); !errors.Is(err, license.ErrInvalidClaims) {
			t.Errorf("%s: got %v", tc.name, err)
		}
		if _, err := c.Marshal(); !errors.Is(err, license.ErrInvalidClaims) {
			t.Errorf("%s: Marshal accepted invalid claims: %v", tc.name, err)
		}
	}
}

func TestCanonicalDefaults(t *testing.T) {
	// nbf equal to iat and upgrades-until equal to exp have one encoding: absent.
	c := base()
	b, _ := c.Marshal()
	c.NotBefore = c.IssuedAt
	c.UpgradesUntil = c.Expires
	b2, _ := c.Marshal()
	if string(b) != string(b2) {
		t.Fatal("defaults written out")
	}
}

func TestIDs(t *testing.T) {
	id := license.NewID()
	s := id.String()
	if !strings.HasPrefix(s, "lic_") || len(s) != 30 {
		t.Fatalf("id text %q", s)
	}
	back, err := license.ParseID(s)
	if err != nil || back != id {
		t.Fatalf("parse %q: %v", s, err)
	}
	for _, bad := range []string{"", "lic_", s[:29], strings.ToUpper(s), "key_" + s[4:], s + "a", strings.Replace(s, s[4:5], "1", 1)} {
		if _, err := license.ParseID(bad); !errors.Is(err, license.ErrBadID) {
			t.Errorf("ParseID(%q) = %v", bad, err)
		}
	}
}

func TestPublicKey(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(nil)
	k := license.PublicKey{Key: pub}
	for _, in := range [][]byte{k.Armor(), []byte(k.Line())} {
		got, err := license.ParsePublicKey(in)
		if err != nil || !got.Key.Equal(pub) {
			t.Fatalf("parse: %v", err)
		}
	}
	b, _ := k.MarshalBinary()
	b[5] ^= 1 // inside the kid
	if _, err := license.ParsePublicKey(b); !errors.Is(err, license.ErrBadKey) {
		t.Fatalf("kid mismatch: %v", err)
	}
	if _, err := license.ParsePublicKey([]byte("-----BEGIN SEATKEY LICENSE-----\nAA==\n-----END SEATKEY LICENSE-----\n")); err == nil {
		t.Fatal("license accepted as key")
	}
}

func FuzzParseClaims(f *testing.F) {
	b, _ := base().Marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := license.ParseClaims(b)
		if err != nil {
			if !errors.Is(err, license.ErrMalformed) && !errors.Is(err, license.ErrUnknownClaim) && !errors.Is(err, license.ErrInvalidClaims) {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		again, err := c.Marshal()
		if err != nil || string(again) != string(b) {
			t.Fatalf("accepted claims do not re-encode identically: %v\n in %x\nout %x", err, b, again)
		}
	})
}

func FuzzParsePublicKey(f *testing.F) {
	pub := make([]byte, 32)
	k := license.PublicKey{Key: pub}
	b, _ := k.MarshalBinary()
	f.Add(b)
	f.Add(k.Armor())
	f.Add([]byte(k.Line()))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := license.ParsePublicKey(b)
		if err != nil {
			return
		}
		if len(k.Key) != 32 {
			t.Fatal("accepted a key of the wrong size")
		}
		// Exact round trip: what was accepted is one of the key's three
		// canonical forms, byte for byte (up to surrounding space and CRLF).
		bin, err := k.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted key does not encode: %v", err)
		}
		text := bytes.TrimSpace(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
		if !bytes.Equal(b, bin) && !bytes.Equal(text, bytes.TrimSpace(k.Armor())) && string(text) != k.Line() {
			t.Fatalf("accepted a form that is not canonical: %q", b)
		}
		// Every form of it parses back to the same key.
		for _, form := range [][]byte{bin, k.Armor(), []byte(k.Line())} {
			again, err := license.ParsePublicKey(form)
			if err != nil || !bytes.Equal(again.Key, k.Key) || again.ID() != k.ID() {
				t.Fatalf("re-encoded key %q: %v", form, err)
			}
		}
	})
}

func FuzzInspect(f *testing.F) {
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := license.Inspect(b)
		if err != nil {
			return
		}
		if tok.Claims.Validate() != nil {
			t.Fatal("Inspect returned invalid claims")
		}
		// Inspect loses nothing: the claims it shows encode back to exactly
		// the token's payload, and the key ID and size are the token's.
		raw, err := license.Decode(license.TypeLicense, b)
		if err != nil {
			t.Fatalf("Inspect accepted what Decode refuses: %v", err)
		}
		m, err := cose.Parse(raw, license.MaxTokenSize)
		if err != nil {
			t.Fatalf("Inspect accepted what cose.Parse refuses: %v", err)
		}
		again, err := tok.Claims.Marshal()
		if err != nil || !bytes.Equal(again, m.Payload) {
			t.Fatalf("shown claims do not re-encode to the payload: %v\n in %x\nout %x", err, m.Payload, again)
		}
		if tok.Size != len(raw) || !bytes.Equal(tok.KeyID[:], m.KID) || tok.Type != license.TypeLicense {
			t.Fatalf("token facts: size %d of %d, kid %x of %x, type %q", tok.Size, len(raw), tok.KeyID, m.KID, tok.Type)
		}
	})
}
