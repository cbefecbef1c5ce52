package verifier_test

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/seatkey/seatkey/verifier"
)

func ExampleVerify() {
	pub, _ := os.ReadFile("../testdata/vectors/test.pub") // the SPEC test key; yours is go:embed-ded
	keys, err := verifier.ParseKeyring(pub)
	if err != nil {
		panic(err)
	}
	token, _ := os.ReadFile("../testdata/vectors/typical.lic")
	opts := verifier.Options{
		Keys:    keys,
		Product: "ledgerpro",
		Now:     time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), // omit to use the clock
	}
	lic, err := verifier.Verify(token, opts)
	if err != nil {
		panic(err)
	}
	fmt.Println(lic.Customer, lic.Edition, lic.Seats, lic.Has("sso"))

	opts.Now = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = verifier.Verify(token, opts)
	fmt.Println(errors.Is(err, verifier.ErrExpired))
	// Output:
	// Globex Corp enterprise 25 true
	// true
}
