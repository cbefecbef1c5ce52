package activation

import (
	"reflect"
	"testing"
	"time"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
)

// Every field of the claims survives a round trip, compared as a whole value;
// each boolean is tried on and off so that a decoder dropping one (Failover,
// Overage) fails here.
func TestClaimsRoundTripExact(t *testing.T) {
	custom := fingerprint.DefaultPolicy
	custom.Threshold = 75
	for _, tc := range []struct {
		name              string
		overage, failover bool
		policy            *fingerprint.Policy
		expires           time.Time
	}{
		{"plain", false, false, nil, time.Time{}},
		{"failover", false, true, nil, time.Unix(1_790_000_000, 0).UTC()},
		{"overage", true, false, &custom, time.Time{}},
		{"both", true, true, &custom, time.Unix(1_790_000_000, 0).UTC()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Claims{ID: NewID(), License: license.NewID(), Device: NewDeviceID(), IssuedAt: time.Unix(1_780_000_000, 0).UTC(),
				Expires: tc.expires, Fingerprint: sampleFingerprint(), Policy: tc.policy, Overage: tc.overage, Failover: tc.failover}
			b, err := c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseClaims(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, c) {
				t.Fatalf("round trip changed the claims:\n got %+v\nwant %+v", *got, c)
			}
		})
	}
}

// The same for requests, with and without the failover flag.
func TestRequestRoundTripExact(t *testing.T) {
	for _, failover := range []bool{false, true} {
		r, err := NewRequest(sampleToken, sampleFingerprint(), "db-01 ☃", failover)
		if err != nil {
			t.Fatal(err)
		}
		for name, enc := range map[string]func() ([]byte, error){"binary": r.MarshalBinary, "armored": r.Armor} {
			b, err := enc()
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseRequest(b)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatalf("%s round trip (failover %v) changed the request:\n got %+v\nwant %+v", name, failover, got, r)
			}
		}
	}
}
