package license_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// Every field survives a round trip, compared as the whole struct. Each case
// sets optional fields the others leave out, so that a decoder dropping any
// one of them fails here. The claims are written in the form ParseClaims
// returns: NotBefore and UpgradesUntil filled in from their defaults.
func TestClaimsRoundTripExact(t *testing.T) {
	at := func(s int64) time.Time { return time.Unix(s, 0).UTC() }
	id := func(b byte) license.ID { return license.ID{b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15} }
	for _, tc := range []struct {
		name string
		c    license.Claims
	}{
		{"subscription, defaults", license.Claims{ID: id(1), Vendor: "Acme", Customer: "Globex", Product: "ledger",
			IssuedAt: at(1_760_000_000), NotBefore: at(1_760_000_000), Expires: at(1_790_000_000), UpgradesUntil: at(1_790_000_000),
			Edition: "pro", Seats: 5, Kind: license.Subscription}},
		{"subscription, every optional field", license.Claims{ID: id(2), Vendor: "Acme Software", Customer: "Globex Corp ☃", Product: "ledgerpro",
			IssuedAt: at(1_760_000_000), NotBefore: at(1_760_003_600), Expires: at(1_790_000_000), UpgradesUntil: at(1_780_000_000),
			Edition: "enterprise", Features: []string{"api", "reports", "sso"}, Seats: 25, Failover: 2, Kind: license.Subscription, Major: 4}},
		{"perpetual", license.Claims{ID: id(3), Vendor: "Acme", Customer: "Globex", Product: "ledger",
			IssuedAt: at(1_760_000_000), NotBefore: at(1_760_000_000), UpgradesUntil: at(1_800_000_000),
			Edition: "pro", Features: []string{"api"}, Seats: 1, Failover: 3, Kind: license.Perpetual, Major: 7}},
		{"per-deployment without expiry", license.Claims{ID: id(4), Vendor: "Acme", Customer: "Globex", Product: "ledger",
			IssuedAt: at(1_760_000_000), NotBefore: at(1_760_000_000), Edition: "site", Seats: 1_000_000, Kind: license.PerDeployment}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.c.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := license.ParseClaims(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.c) {
				t.Fatalf("round trip changed the claims:\n got %+v\nwant %+v", got, tc.c)
			}
		})
	}
}
