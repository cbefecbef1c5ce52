package machine_test

import (
	"fmt"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/machine"
)

func ExampleCollect() {
	// Root is a fixture tree of a rack server (sysfs, procfs, udev, /etc);
	// leave it empty to read this machine, or give a ghw snapshot .tar.gz.
	p, err := machine.Collect(machine.Options{Root: "testdata/hw/server", TPM: "none"})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Values[fingerprint.SystemSerial], len(p.Values[fingerprint.NICs]))
	f := p.Digest("ledgerpro") // what leaves the machine: keyed digests only
	fmt.Println(f.Has(fingerprint.BoardSerial), f.Has(fingerprint.TPMEK))
	// Output:
	// [7XK2PL3] 2
	// true false
}
