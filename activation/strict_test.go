package activation

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

// Requests are customer files: each field's bound is enforced on decoding,
// not only when the request is built.
func TestParseRequestBounds(t *testing.T) {
	fp, err := sampleFingerprint().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// The request map of SPEC 10.1, written field by field (not through
	// this package's wire type, so a change to it cannot hide here).
	good := func() map[int]any {
		return map[int]any{1: sampleToken, 2: cbor.RawMessage(fp), 3: "db-01", 4: make([]byte, 16), 5: uint64(1_780_000_000)}
	}
	for _, tc := range []struct {
		name string
		edit func(map[int]any)
	}{
		{"nonce of 15 bytes", func(w map[int]any) { w[4] = make([]byte, 15) }},
		{"nonce of 17 bytes", func(w map[int]any) { w[4] = make([]byte, 17) }},
		{"label over the limit", func(w map[int]any) { w[3] = strings.Repeat("x", MaxLabel+1) }},
		{"empty label", func(w map[int]any) { w[3] = "" }},
		{"no creation time", func(w map[int]any) { w[5] = uint64(0) }},
		{"creation after 9999", func(w map[int]any) { w[5] = uint64(253402300800) }},
		{"license too large", func(w map[int]any) { w[1] = make([]byte, license.MaxTokenSize+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := good()
			tc.edit(w)
			b, err := cborx.Marshal(w)
			if err != nil {
				t.Fatal(err)
			}
			if r, err := ParseRequest(b); err == nil {
				t.Fatalf("accepted: %+v", r)
			}
		})
	}
	// The bounds themselves are accepted.
	w := good()
	w[3] = strings.Repeat("é", MaxLabel/2) // exactly MaxLabel bytes
	b, _ := cborx.Marshal(w)
	if _, err := ParseRequest(b); err != nil {
		t.Fatalf("label of exactly %d bytes: %v", MaxLabel, err)
	}
}

// SPEC 10.2 with section 4's rule: an activation's exp, when present, is
// after its iat.
func TestParseClaimsExpiryAfterIssue(t *testing.T) {
	iat := time.Unix(1_780_000_000, 0).UTC()
	for _, tc := range []struct {
		exp  time.Time
		want error
	}{
		{iat, license.ErrInvalidClaims},
		{iat.Add(-time.Second), license.ErrInvalidClaims},
		{iat.Add(time.Second), nil},
	} {
		c := Claims{ID: ID{1}, License: license.ID{2}, Device: DeviceID{3}, IssuedAt: iat, Expires: tc.exp, Fingerprint: sampleFingerprint()}
		b, err := c.Marshal()
		if err != nil {
			if tc.want != nil {
				continue // refused already when building: fine
			}
			t.Fatal(err)
		}
		_, err = ParseClaims(b)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("exp %s, iat %s: got %v, want %v", tc.exp, iat, err, tc.want)
		}
	}
}
