package verifier_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/verifier"
)

// An application keeps its state file where DefaultStatePath says, unless it
// has a better place: the verifier creates the directory on first use.
func ExampleDefaultStatePath() {
	path, err := verifier.DefaultStatePath("Acme Software", "ledgerpro")
	if err != nil {
		panic(err)
	}
	fmt.Println(filepath.Base(filepath.Dir(filepath.Dir(path))), filepath.Base(filepath.Dir(path)), filepath.Base(path))

	_, err = verifier.DefaultStatePath("Acme", "../../etc")
	fmt.Println(errors.Is(err, verifier.ErrOptions))
	// Output:
	// Acme Software ledgerpro seatkey.state
	// true
}

// A customer's clock once ran a year ahead; the state file now refuses the
// right time as a clock set back. The vendor signs a state reset for that
// license, and the application applies it once.
func ExampleStateReset() {
	vendorKey, _ := issuer.GenerateKey() // the vendor's side
	c := typicalClaims()
	tok, _ := vendorKey.Mint(c)

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	today := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	opts := verifier.Options{Keys: verifier.NewKeyring(vendorKey.Public()), Product: "ledgerpro", State: filepath.Join(dir, "state")}

	opts.Now = today.AddDate(0, 6, 0) // the clock ran ahead once
	verifier.Verify(tok, opts)
	opts.Now = today
	_, err := verifier.Verify(tok, opts)
	fmt.Println(errors.Is(err, verifier.ErrClockRollback))

	payload, _ := verifier.StateReset{License: c.ID, LastSeen: today, IssuedAt: today}.Marshal()
	reset, _ := vendorKey.Sign(verifier.TypeStateReset, payload)
	opts.StateReset = verifier.ArmorStateReset(reset) // sent to the customer as a file
	_, err = verifier.Verify(tok, opts)
	fmt.Println(err)
	// Output:
	// true
	// <nil>
}
