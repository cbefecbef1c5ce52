// Command verifyonly imports exactly what a vendor application that only
// verifies needs; depcheck_test lists what it links on every OS.
package main

import (
	_ "github.com/seatkey/seatkey/activation"
	_ "github.com/seatkey/seatkey/fingerprint"
	_ "github.com/seatkey/seatkey/license"
	_ "github.com/seatkey/seatkey/verifier"
)

func main() {}
