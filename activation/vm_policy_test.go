package activation

import (
	"testing"
	"time"

	"github.com/seatkey/seatkey/fingerprint"
)

// The policy PolicyFor picks travels in the activation and comes back
// unchanged (Optional included), so offline verification applies the VM rule
// to a VM and the physical rule, omitted on the wire, to anything else.
func TestKindPolicyTravels(t *testing.T) {
	for _, tc := range []struct {
		platform string
		want     fingerprint.Policy
		omitted  bool
	}{
		{"vm:azure", fingerprint.VMPolicy, false},
		{"container:vm:gce", fingerprint.VMPolicy, false},
		{"physical", fingerprint.DefaultPolicy, true},
	} {
		p := &fingerprint.Profile{}
		p.Set(fingerprint.Platform, tc.platform)
		p.Set(fingerprint.SystemUUID, "1e6a2c8f-7d4b-3e4c-9a5f-2d1e0b7c6a94")
		fp := p.Digest("ledgerpro")
		c := Claims{ID: NewID(), Device: NewDeviceID(), IssuedAt: time.Unix(1767225600, 0), Fingerprint: fp.Hardware(), Policy: fingerprint.PolicyFor(fp)}
		b, err := c.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseClaims(b)
		if err != nil {
			t.Fatal(err)
		}
		if (back.Policy == nil) != tc.omitted || *back.EffectivePolicy() != tc.want {
			t.Errorf("%s: policy after the round trip %+v, want %+v (omitted %v)", tc.platform, back.EffectivePolicy(), tc.want, tc.omitted)
		}
		// The enrolled fingerprint in the activation still names its platform.
		if got := fingerprint.PlatformOf(back.Fingerprint); got != tc.platform {
			t.Errorf("platform in the activation %q, want %q", got, tc.platform)
		}
	}
}
