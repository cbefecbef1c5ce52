package license_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// IDs that share their first 8 bytes are told apart by the rest: a lookup
// compares all 16 bytes (the search compares the first 8 as one integer).
func TestRevocationLookupWholeID(t *testing.T) {
	now := time.Unix(1_780_000_000, 0).UTC()
	a := license.ID{1, 2, 3, 4, 5, 6, 7, 8, 0xa0}
	b := license.ID{1, 2, 3, 4, 5, 6, 7, 8, 0xb0}
	c := license.ID{1, 2, 3, 4, 5, 6, 7, 8, 0xc0}
	rl, err := license.NewRevocations("v", 1, now, now.Add(time.Hour),
		[]license.Entry{{ID: a[:], At: now, Reason: license.ReasonRefunded}, {ID: c[:], At: now, Reason: license.ReasonLeaked}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := rl.Marshal()
	parsed, err := license.ParseRevocations(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []*license.Revocations{rl, parsed} {
		if e, ok := l.License(a); !ok || e.Reason != license.ReasonRefunded || !bytes.Equal(e.ID, a[:]) {
			t.Fatalf("a: %v %+v", ok, e)
		}
		if e, ok := l.License(c); !ok || e.Reason != license.ReasonLeaked || !bytes.Equal(e.ID, c[:]) {
			t.Fatalf("c: %v %+v", ok, e)
		}
		if e, ok := l.License(b); ok {
			t.Fatalf("b (same first 8 bytes as a and c) reported revoked: %+v", e)
		}
	}
}

// listWith returns a valid list payload revoking a and b (adjacent, a < b),
// and the offsets of b's entry in it, for editing by hand.
func listWith(t *testing.T, a, b license.ID) (payload []byte, bAt int) {
	t.Helper()
	now := time.Unix(1_780_000_000, 0).UTC()
	rl, err := license.NewRevocations("v", 1, now, now.Add(time.Hour),
		[]license.Entry{{ID: a[:], At: now, Reason: license.ReasonRefunded}, {ID: b[:], At: now, Reason: license.ReasonAbuse}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rl.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := license.ParseRevocations(p); err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(p, b[:])
	if i < 0 {
		t.Fatal("entry not found")
	}
	return p, i
}

// SPEC 11.1: repeated IDs and unknown reasons inside an entry list are
// ErrRevocationList, however well formed the CBOR around them.
func TestRevocationListRefusesRepeatsAndUnknownReasons(t *testing.T) {
	a := license.ID{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 1}
	b := license.ID{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 2}
	t.Run("repeated ID", func(t *testing.T) {
		p, i := listWith(t, a, b)
		p[i+15] = 1 // b becomes a: two entries for one ID
		if _, err := license.ParseRevocations(p); !errors.Is(err, license.ErrRevocationList) {
			t.Fatalf("repeated ID: %v", err)
		}
	})
	for _, reason := range []byte{7, 0x80, 0xff} {
		p, i := listWith(t, a, b)
		p[i+16+4] = reason
		if _, err := license.ParseRevocations(p); !errors.Is(err, license.ErrRevocationList) {
			t.Errorf("reason %d: %v", reason, err)
		}
	}
	// The highest reason a license entry may carry (5, superseded) is
	// accepted, and the next (6, retired: keys only) is not: the bound is exact.
	p, i := listWith(t, a, b)
	p[i+16+4] = byte(license.ReasonSuperseded)
	if _, err := license.ParseRevocations(p); err != nil {
		t.Fatalf("reason 5: %v", err)
	}
	p[i+16+4] = byte(license.ReasonRetired)
	if _, err := license.ParseRevocations(p); !errors.Is(err, license.ErrRevocationList) {
		t.Fatalf("reason 6 on a license: %v", err)
	}
}
