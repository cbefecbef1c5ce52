package license_test

import (
	"fmt"
	"os"

	"github.com/seatkey/seatkey/license"
)

func ExampleInspect() {
	b, _ := os.ReadFile("../testdata/vectors/typical.lic")
	t, err := license.Inspect(b) // shows, does not verify: use package verifier
	if err != nil {
		panic(err)
	}
	fmt.Println(t.Claims.ID, t.Claims.Kind, t.Claims.Seats, t.Size)
	// Output: lic_aaaqeayeaudaocajbifqydiob4 subscription 25 231
}
