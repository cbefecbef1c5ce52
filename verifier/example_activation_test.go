package verifier_test

import (
	"errors"
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

// exampleKey is the vendor key of the test vectors (SPEC.md section 8); a
// vendor application holds only its public half.
func exampleKey() *issuer.Key {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	k, err := issuer.NewKeyFromSeed(seed)
	if err != nil {
		panic(err)
	}
	return k
}

// exampleMachine is this machine's profile: on a real machine
// machine.Collect(machine.Options{}); here a committed fixture.
func exampleMachine() *fingerprint.Profile {
	b, err := os.ReadFile("../fingerprint/testdata/profiles/server.json")
	if err != nil {
		panic(err)
	}
	p, err := fingerprint.ParseProfileJSON(b)
	if err != nil {
		panic(err)
	}
	return p
}

func ExampleVerifyActivation() {
	licenseToken, _ := os.ReadFile("../testdata/vectors/typical.lic")
	here := exampleMachine()

	// The vendor's side, done once by the ledger (seatkey activate): the
	// activation binds the license to this machine's hardware fingerprint.
	vendor := exampleKey()
	lic, _ := license.Inspect(licenseToken)
	payload, _ := activation.Claims{
		ID: activation.NewID(), License: lic.Claims.ID, Device: activation.NewDeviceID(),
		IssuedAt:    time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		Fingerprint: here.Digest("ledgerpro").Hardware(),
	}.Marshal()
	activationToken, _ := vendor.Sign(license.TypeActivation, payload)

	// The application's side, at every start: the license, the activation
	// and this machine's fingerprint, scoped by the product.
	opts := verifier.Options{
		Keys:    verifier.NewKeyring(vendor.Public()),
		Product: "ledgerpro",
		Now:     time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), // omit to use the clock
	}
	a, err := verifier.VerifyActivation(licenseToken, activationToken, here.Digest("ledgerpro"), opts)
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Customer, a.Match.Same)

	// The same files copied to a machine with another motherboard.
	there := exampleMachine()
	there.Set(fingerprint.BoardSerial, "NEWBOARD0042")
	there.Set(fingerprint.SystemUUID, "0f0e0d0c-0b0a-0908-0706-050403020100")
	_, err = verifier.VerifyActivation(licenseToken, activationToken, there.Digest("ledgerpro"), opts)
	var de *verifier.DeviceError
	fmt.Println(errors.Is(err, verifier.ErrDevice), errors.As(err, &de) && !de.Result.Same)
	// Output:
	// Globex Corp true
	// true true
}

func ExampleOptions_state() {
	dir, _ := os.MkdirTemp("", "seatkey-example-")
	defer os.RemoveAll(dir)
	token, _ := os.ReadFile("../testdata/vectors/typical.lic")
	opts := verifier.Options{
		Keys:    verifier.NewKeyring(exampleKey().Public()),
		Product: "ledgerpro",
		// The verifier remembers the latest time it has seen here (mode
		// 0600). Keep it where the application keeps its own data.
		State: filepath.Join(dir, "ledgerpro.state"),
		Now:   time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
	}
	_, err := verifier.Verify(token, opts)
	fmt.Println(err)

	// The customer sets the clock back a week to stretch the license.
	opts.Now = opts.Now.AddDate(0, 0, -7)
	_, err = verifier.Verify(token, opts)
	fmt.Println(errors.Is(err, verifier.ErrClockRollback))
	// Output:
	// <nil>
	// true
}

func ExampleParseRevocationList() {
	vendor := exampleKey()
	token, _ := os.ReadFile("../testdata/vectors/typical.lic")
	lic, _ := license.Inspect(token)

	// The vendor publishes a signed list (usually Ledger.PublishRevocationList
	// or seatkey revoke --publish); applications fetch or receive it.
	issued := time.Date(2026, 5, 31, 0, 0, 0, 0, time.UTC)
	content, _ := license.NewRevocations("Acme Software", 7, issued, issued.AddDate(0, 0, 7),
		[]license.Entry{{ID: lic.Claims.ID[:], At: issued.AddDate(0, 0, -30), Reason: license.ReasonRefunded}}, nil, nil)
	payload, _ := content.Marshal()
	signed, _ := vendor.Sign(license.TypeRevocation, payload)
	file := license.Armor(license.TypeRevocation, signed)

	keys := verifier.NewKeyring(vendor.Public())
	list, err := verifier.ParseRevocationList(file, keys) // checks its signer and signature
	if err != nil {
		panic(err)
	}
	_, err = verifier.Verify(token, verifier.Options{Keys: keys, Product: "ledgerpro", Revocations: list,
		Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)})
	fmt.Println(err)
	var re *verifier.RevokedError
	fmt.Println(errors.As(err, &re) && re.Reason == license.ReasonRefunded)
	// Output:
	// license lic_aaaqeayeaudaocajbifqydiob4 revoked on 2026-05-01: refunded
	// true
}
