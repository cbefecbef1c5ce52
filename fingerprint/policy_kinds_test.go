package fingerprint

import (
	"strings"
	"testing"
)

func TestPolicyFor(t *testing.T) {
	for _, tc := range []struct {
		platform string
		want     Policy
	}{
		{"vm:aws", VMPolicy},
		{"vm:other", VMPolicy},
		{"container:vm:gce", VMPolicy},
		{"physical", DefaultPolicy},
		{"container:physical", DefaultPolicy},
		{"", DefaultPolicy},
	} {
		p := &Profile{}
		p.Set(CPU, "GenuineIntel|Xeon")
		p.Set(Platform, tc.platform)
		fp := p.Digest("ledgerpro")
		if got := PlatformOf(fp); got != tc.platform {
			t.Errorf("PlatformOf = %q, want %q", got, tc.platform)
		}
		if got := PolicyFor(fp); *got != tc.want {
			t.Errorf("%q: wrong policy %+v", tc.platform, got)
		}
	}
	// A digest that is no platform value's (an edited fingerprint) is not a VM.
	p := &Profile{}
	p.Set(Platform, "vm:aws")
	fp := p.Digest("ledgerpro")
	fp.Components[Platform][0][0] ^= 1
	if PlatformOf(fp) != "" || *PolicyFor(fp) != DefaultPolicy {
		t.Error("an unknown platform digest picked a policy other than the default")
	}
	// The result is a copy: changing it does not change VMPolicy.
	p.Set(Platform, "vm:aws")
	got := PolicyFor(p.Digest("ledgerpro"))
	got.Threshold = 1
	if VMPolicy.Threshold == 1 {
		t.Error("PolicyFor returned VMPolicy itself")
	}
}

// VMPolicy is a valid policy that round-trips on the wire, gives the
// platform no weight, and cannot recognise a VM from disks and NICs alone.
func TestVMPolicy(t *testing.T) {
	b, err := VMPolicy.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ParsePolicy(b); err != nil || *p != VMPolicy {
		t.Fatalf("VMPolicy round trip: %v", err)
	}
	if VMPolicy.Rules[Platform] != (Rule{}) || DefaultPolicy.Rules[Platform] != (Rule{}) {
		t.Fatal("the platform counts in a policy")
	}
	vm := func(uuid string, mac string) *Fingerprint {
		p := &Profile{}
		p.Set(CPU, "GenuineIntel|Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz")
		p.Set(Memory, "8 GiB")
		p.Set(Platform, "vm:kvm")
		p.Set(SystemUUID, uuid)
		p.Set(NICs, mac)
		p.Set(Disks, "sn:VOL0A1B2C3D4E5F60718")
		return p.Digest("ledgerpro")
	}
	a, b2 := vm("", "0a:1b:2c:3d:4e:5f"), vm("", "0a:1b:2c:3d:4e:5f")
	if r := Match(a, b2, &VMPolicy); r.Same || !strings.Contains(r.Reason(), "too little hardware identity") {
		t.Errorf("a VM without its UUID recognised from disks and NICs: %s", r.String())
	}
	moved := Match(vm("6f1c2e8a-9b3d-4a5e-8c7f-1d2e3f4a5b6c", "0a:1b:2c:3d:4e:5f"), vm("6f1c2e8a-9b3d-4a5e-8c7f-1d2e3f4a5b6c", "0a:99:2c:3d:4e:5f"), &VMPolicy)
	if !moved.Same {
		t.Errorf("a VM moved with its UUID and a new MAC is a new device: %s", moved.String())
	}
	clone := Match(vm("6f1c2e8a-9b3d-4a5e-8c7f-1d2e3f4a5b6c", "0a:1b:2c:3d:4e:5f"), vm("7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "0a:1b:2c:3d:4e:5f"), &VMPolicy)
	if clone.Same || clone.DecisiveChanged != SystemUUID {
		t.Errorf("a clone with a new UUID (and a copied MAC and disk) is the same device: %s", clone.String())
	}
}
