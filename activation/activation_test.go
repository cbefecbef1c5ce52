package activation

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

func sampleFingerprint() *fingerprint.Fingerprint {
	p := &fingerprint.Profile{}
	p.Set(fingerprint.BoardSerial, "ABC123")
	p.Set(fingerprint.NICs, "b0:7b:25:d4:3e:10", "b0:7b:25:d4:3e:11")
	return p.Digest("ledgerpro")
}

// a syntactically valid license token is enough here: requests are parsed, not verified.
var sampleToken = []byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}

func TestRequestRoundTrip(t *testing.T) {
	r, err := NewRequest(sampleToken, sampleFingerprint(), "db-01", true)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := r.Armor()
	if !bytes.Contains(a, []byte("BEGIN SEATKEY ACTIVATION REQUEST")) {
		t.Fatal("armor label")
	}
	got, err := ParseRequest(a)
	if err != nil || got.Label != "db-01" || !got.Failover || got.Nonce != r.Nonce || !got.Created.Equal(r.Created) {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	if _, err := NewRequest(sampleToken, sampleFingerprint(), "", false); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("empty label: %v", err)
	}
	b, _ := r.MarshalBinary()
	if _, err := ParseRequest(append(b, 0)); !errors.Is(err, cborx.ErrTrailing) {
		t.Fatalf("trailing byte: %v", err)
	}
}

func TestClaimsRoundTrip(t *testing.T) {
	c := Claims{ID: NewID(), License: license.NewID(), Device: NewDeviceID(), IssuedAt: time.Unix(1_780_000_000, 0).UTC(),
		Expires: time.Unix(1_790_000_000, 0).UTC(), Fingerprint: sampleFingerprint(), Overage: true}
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseClaims(b)
	if err != nil || got.Device != c.Device || got.License != c.License || !got.Overage || got.Policy != nil || !got.Expires.Equal(c.Expires) {
		t.Fatalf("round trip: %v %+v", err, got)
	}
	// The default policy has one encoding: absent.
	p := fingerprint.DefaultPolicy
	c.Policy = &p
	b2, _ := c.Marshal()
	if !bytes.Equal(b, b2) {
		t.Fatal("default policy written out")
	}
	p.Threshold = 75
	b3, _ := c.Marshal()
	got, err = ParseClaims(b3)
	if err != nil || got.EffectivePolicy().Threshold != 75 {
		t.Fatalf("custom policy: %v", err)
	}
	id := c.Device.String()
	back, err := ParseDeviceID(id)
	if err != nil || back != c.Device || id[:4] != "dev_" {
		t.Fatalf("device ID text %q: %v", id, err)
	}
}

func FuzzParseRequest(f *testing.F) {
	r, _ := NewRequest(sampleToken, sampleFingerprint(), "db-01", false)
	b, _ := r.MarshalBinary()
	a, _ := r.Armor()
	f.Add(b)
	f.Add(a)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		again, err := r.MarshalBinary()
		if err != nil {
			t.Fatalf("accepted request does not encode: %v", err)
		}
		// Exact round trip: an accepted binary request re-encodes to the same
		// bytes; an armored one to the same binary inside its armor.
		inner := b
		if armor.Is(b) {
			if inner, err = armor.Decode(labelRequest, b); err != nil {
				t.Fatalf("accepted armor that does not decode: %v", err)
			}
		}
		if !bytes.Equal(again, inner) {
			t.Fatalf("accepted request does not re-encode identically:\n in %x\nout %x", inner, again)
		}
		r2, err := ParseRequest(again)
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatalf("re-encoded request parses differently: %v", err)
		}
	})
}

func FuzzParseClaims(f *testing.F) {
	c := Claims{ID: NewID(), License: license.NewID(), Device: NewDeviceID(), IssuedAt: time.Unix(1_780_000_000, 0), Fingerprint: sampleFingerprint()}
	b, _ := c.Marshal()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClaims(b)
		if err != nil {
			return
		}
		again, err := c.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted claims do not re-encode identically: %v", err)
		}
	})
}
