package activation_test

import (
	"fmt"
	"os"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
)

func ExampleNewRequest() {
	// On the customer's machine: its license and its hardware profile (on a
	// real machine machine.Collect(machine.Options{}); here a fixture).
	lic, _ := os.ReadFile("../testdata/vectors/typical.lic")
	pj, _ := os.ReadFile("../fingerprint/testdata/profiles/server.json")
	profile, err := fingerprint.ParseProfileJSON(pj)
	if err != nil {
		panic(err)
	}
	t, err := license.Inspect(lic)
	if err != nil {
		panic(err)
	}
	// Digests scoped by the product: no raw serial leaves the machine.
	req, err := activation.NewRequest(lic, profile.Digest(t.Claims.Product), "db-prod-01", false)
	if err != nil {
		panic(err)
	}
	file, _ := req.Armor() // the file the customer sends to the vendor

	// At the vendor: the request is untrusted until the ledger verifies the
	// license inside it (issuer.Ledger.Activate).
	got, err := activation.ParseRequest(file)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Label, got.Fingerprint.Scope, got.Fingerprint.Has(fingerprint.SystemUUID), got.Failover)
	// Output: db-prod-01 ledgerpro true false
}
