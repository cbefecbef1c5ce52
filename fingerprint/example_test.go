package fingerprint_test

import (
	"fmt"
	"os"

	"github.com/seatkey/seatkey/fingerprint"
)

func ExampleMatch() {
	// On a real machine: machine.Collect(machine.Options{}). Here, the profile
	// package machine read from the committed fixture tree of a rack server.
	b, err := os.ReadFile("testdata/profiles/server.json")
	if err != nil {
		panic(err)
	}
	p, err := fingerprint.ParseProfileJSON(b)
	if err != nil {
		panic(err)
	}
	enrolled := p.Digest("ledgerpro") // keyed digests: no raw serials

	// Later the same machine has twice the RAM.
	p.Set(fingerprint.Memory, "128 GiB")
	r := fingerprint.Match(enrolled, p.Digest("ledgerpro"), &fingerprint.DefaultPolicy)
	fmt.Println(r.Same, r.Reason())

	// A new motherboard: new board serial and system UUID.
	p.Set(fingerprint.BoardSerial, "NEWBOARD0042")
	p.Set(fingerprint.SystemUUID, "0f0e0d0c-0b0a-0908-0706-050403020100")
	r = fingerprint.Match(enrolled, p.Digest("ledgerpro"), &fingerprint.DefaultPolicy)
	fmt.Println(r.Same, r.Reason())
	// Output:
	// true score 97.6% reaches the threshold 60%
	// false board-serial changed, and it decides identity
}
