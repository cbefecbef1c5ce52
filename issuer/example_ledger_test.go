package issuer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// exampleLedger is a fresh ledger with one five-seat license recorded.
func exampleLedger(dir string) (*issuer.Ledger, *issuer.Key, []byte) {
	key, _ := issuer.GenerateKey() // or issuer.LoadKey("vendor.key", passphrase)
	l, err := issuer.CreateLedger(filepath.Join(dir, "ledger.db"))
	if err != nil {
		panic(err)
	}
	l.Now = func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) } // omit to use the clock
	token, err := key.Mint(license.Claims{
		ID: license.NewID(), Vendor: "Acme Software", Customer: "Globex Corp", Product: "ledgerpro",
		IssuedAt: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), Expires: time.Date(2027, 1, 15, 0, 0, 0, 0, time.UTC),
		Edition: "enterprise", Seats: 5, Kind: license.Subscription,
	})
	if err != nil {
		panic(err)
	}
	if err := l.RecordLicense(key, token, issuer.LicensePolicy{Contact: "it@globex.example"}); err != nil {
		panic(err)
	}
	return l, key, token
}

func ExampleLedger_Activate() {
	dir, _ := os.MkdirTemp("", "seatkey-example-")
	defer os.RemoveAll(dir)
	l, key, token := exampleLedger(dir)
	defer l.Close()

	// The request a customer's machine made (seatkey request).
	pj, _ := os.ReadFile("../fingerprint/testdata/profiles/server.json")
	profile, _ := fingerprint.ParseProfileJSON(pj)
	req, _ := activation.NewRequest(token, profile.Digest("ledgerpro"), "db-prod-01", false)
	file, _ := req.Armor()

	res, err := l.Activate(key, file)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Outcome, res.Label)

	// The same machine, re-imaged, asks again: no second seat.
	again, _ := activation.NewRequest(token, profile.Digest("ledgerpro"), "db-prod-01", false)
	file2, _ := again.Armor()
	res2, _ := l.Activate(key, file2)
	fmt.Println(res2.Outcome, res2.Device == res.Device)

	// res.Token is the activation the customer installs next to the license.
	a, err := verifier.VerifyActivation(token, res.Token, profile.Digest("ledgerpro"),
		verifier.Options{Keys: verifier.NewKeyring(key.Public()), Product: "ledgerpro", Now: l.Now()})
	fmt.Println(err, a.Activation.Device == res.Device)
	// Output:
	// new-device db-prod-01
	// same-device true
	// <nil> true
}

func ExampleLedger_PublishRevocationList() {
	dir, _ := os.MkdirTemp("", "seatkey-example-")
	defer os.RemoveAll(dir)
	l, key, token := exampleLedger(dir)
	defer l.Close()
	lic, _ := license.Inspect(token)

	// The customer got a refund: revoke the license, then publish the list.
	if _, err := l.Revoke(lic.Claims.ID.String(), license.ReasonRefunded, l.Now().Add(-time.Hour)); err != nil {
		panic(err)
	}
	signed, _, err := l.PublishRevocationList(key, "Acme Software", 30*24*time.Hour)
	if err != nil {
		panic(err)
	}
	file := license.Armor(license.TypeRevocation, signed) // publish it where applications fetch it

	keys := verifier.NewKeyring(key.Public())
	list, err := verifier.ParseRevocationList(file, keys)
	if err != nil {
		panic(err)
	}
	n, _, _ := list.Len()
	fmt.Println(list.Sequence, n, list.NextUpdate.Format(time.DateOnly))
	_, err = verifier.Verify(token, verifier.Options{Keys: keys, Product: "ledgerpro", Revocations: list, Now: l.Now()})
	fmt.Println(err != nil)
	// Output:
	// 1 1 2026-07-01
	// true
}
