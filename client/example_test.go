package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/client"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/server"
	"github.com/seatkey/seatkey/verifier"
)

// A vendor application's first start: activate online, keep the activation,
// verify offline from then on.
func ExampleClient_Activate() {
	// The vendor's side, for the example: a ledger, a key, a license, a server.
	dir, _ := os.MkdirTemp("", "seatkey-example-")
	defer os.RemoveAll(dir)
	key, _ := issuer.GenerateKey()
	ledger, _ := issuer.CreateLedger(filepath.Join(dir, "ledger.db"))
	defer ledger.Close()
	licenseToken, _ := key.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: "ledgerpro", Edition: "pro",
		Seats: 5, Kind: license.Subscription, Expires: time.Now().AddDate(1, 0, 0)})
	srv, _ := server.New(server.Config{Ledger: ledger, Key: key})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// The application: this machine's fingerprint (machine.Collect in real
	// life), an activation request, the server's answer.
	p := &fingerprint.Profile{}
	p.Set(fingerprint.SystemUUID, "4c4c4544-0042-3510-8052-b4c04f4d4e31")
	p.Set(fingerprint.BoardSerial, "BRD0000042")
	p.Set(fingerprint.SystemSerial, "SVC00042")
	p.Set(fingerprint.Disks, "wwn:0x5002538e4098a101")
	p.Set(fingerprint.NICs, "b0:7b:25:00:00:42")
	fp := p.Digest("ledgerpro")
	keys := verifier.NewKeyring(key.Public()) // embedded in the application
	c := &client.Client{BaseURL: ts.URL, Keys: keys}
	req, _ := activation.NewRequest(licenseToken, fp, "build-01", false)
	a, err := c.Activate(context.Background(), req)
	if errors.Is(err, client.ErrUnavailable) {
		// Fall back to the offline path: save req.Armor() for the vendor.
		return
	} else if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(a.Outcome)
	// Save a.Armor(); every later start verifies offline, no network:
	act, err := verifier.VerifyActivation(licenseToken, a.Armor(), fp, verifier.Options{Keys: keys, Product: "ledgerpro"})
	fmt.Println(err == nil && act.Activation.Device.String() == a.Device)
	// Output:
	// new-device
	// true
}
