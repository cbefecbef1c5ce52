package fingerprint_test

import (
	"fmt"

	"github.com/seatkey/seatkey/fingerprint"
)

func ExamplePolicyFor() {
	// What machine.Collect reads inside an EC2 instance (as root).
	p := &fingerprint.Profile{}
	p.Set(fingerprint.Platform, "vm:aws")
	p.Set(fingerprint.CPU, "GenuineIntel|Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz")
	p.Set(fingerprint.SystemUUID, "ec2f4a6b-3c1d-8e2f-9a0b-1c2d3e4f5a6b")
	p.Set(fingerprint.Disks, "sn:VOL0A1B2C3D4E5F60718")
	p.Set(fingerprint.NICs, "0a:3f:5c:11:7e:21")
	enrolled := p.Digest("ledgerpro")

	// The issuer picks the rule from the enrolled fingerprint's platform
	// and puts it in the activation.
	policy := fingerprint.PolicyFor(enrolled)
	fmt.Println(fingerprint.PlatformOf(enrolled), *policy == fingerprint.VMPolicy)

	// Resized to m6i: another processor, the same instance.
	p.Set(fingerprint.CPU, "GenuineIntel|Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz")
	now := p.Digest("ledgerpro")
	r := fingerprint.Match(enrolled, now, policy)
	fmt.Println(r.Same, r.Reason())
	r = fingerprint.Match(enrolled, now, &fingerprint.DefaultPolicy)
	fmt.Println(r.Same, r.Reason())
	// Output:
	// vm:aws true
	// true score 94.7% reaches the threshold 60%
	// false cpu changed, and it decides identity
}
