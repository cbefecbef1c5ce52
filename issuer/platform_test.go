package issuer

import (
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
)

// A license without a policy of its own identifies each device under the
// rule for its platform (fingerprint.PolicyFor), and the activation carries
// that rule: an EC2 instance resized onto another processor is the same
// device, where the physical rule would call it new.
func TestIssuerAppliesPlatformPolicy(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 2, license.Subscription, 0)
	vm := &fingerprint.Profile{}
	vm.Set(fingerprint.Platform, "vm:aws")
	vm.Set(fingerprint.CPU, "GenuineIntel|Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz")
	vm.Set(fingerprint.BoardModel, "Amazon EC2|")
	vm.Set(fingerprint.SystemUUID, "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8")
	vm.Set(fingerprint.SystemSerial, "ec2a1b2c-3d4e-5f60-7182-93a4b5c6d7e8")
	vm.Set(fingerprint.Memory, "8 GiB")
	vm.Set(fingerprint.Disks, "sn:VOL0A1B2C3D4E5F6A7B8")
	vm.Set(fingerprint.NICs, "0a:1b:2c:3d:4e:5f")
	first, err := l.Activate(k, requestFor(t, tok, vm, "ec2", false))
	if err != nil {
		t.Fatal(err)
	}
	if c := activationClaims(t, first.Token); c.Policy == nil || *c.Policy != fingerprint.VMPolicy {
		t.Fatalf("the activation of a VM carries policy %+v, want the VM policy", c.Policy)
	}
	resized := &fingerprint.Profile{Values: map[fingerprint.Component][]string{}}
	for c, v := range vm.Values {
		resized.Values[c] = v
	}
	resized.Set(fingerprint.CPU, "GenuineIntel|Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz")
	resized.Set(fingerprint.Memory, "16 GiB")
	if r := fingerprint.Match(vm.Digest(product), resized.Digest(product), &fingerprint.DefaultPolicy); r.Same {
		t.Fatal("test premise: the physical rule should call the resized VM a new device")
	}
	again, err := l.Activate(k, requestFor(t, tok, resized, "ec2", false))
	if err != nil || again.Outcome != SameDevice || again.Device != first.Device {
		t.Fatalf("resized instance: %+v %v", again, err)
	}
	if used := seatsUsed(t, l, tok); used != 1 {
		t.Fatalf("%d seats used", used)
	}
}
