package issuer_test

import (
	"fmt"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

func ExampleKey_Mint() {
	key, err := issuer.GenerateKey() // or issuer.LoadKey("vendor.key", passphrase)
	if err != nil {
		panic(err)
	}
	token, err := key.Mint(license.Claims{
		Vendor: "Acme Software", Customer: "Globex Corp", Product: "ledgerpro",
		Edition: "enterprise", Features: []string{"sso", "api"}, Seats: 25,
		Kind: license.Subscription, Expires: time.Now().AddDate(1, 0, 0),
	})
	if err != nil {
		panic(err)
	}
	armored := license.Armor(license.TypeLicense, token)
	t, _ := license.Inspect(armored)
	fmt.Println(t.Claims.Features, t.KeyID == key.ID())
	// Output: [api sso] true
}
