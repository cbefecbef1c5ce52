package license_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// Sniff names every kind of object in every form it can come in, so that a
// tool such as inspect accepts binary activations and revocation lists as it
// accepts their armored forms.
func TestSniff(t *testing.T) {
	k, err := issuer.NewKeyFromSeed(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	lic, err := os.ReadFile("../testdata/vectors/typical.lic")
	if err != nil {
		t.Fatal(err)
	}
	licBin, err := license.Decode(license.TypeLicense, lic)
	if err != nil {
		t.Fatal(err)
	}
	p := &fingerprint.Profile{}
	p.Set(fingerprint.CPU, "GenuineIntel|Xeon")
	p.Set(fingerprint.SystemUUID, "4c4c4544-0042-3510-8052-b4c04f565931")
	fp := p.Digest("ledgerpro")
	fpBin, _ := fp.MarshalBinary()
	now := time.Unix(1_780_000_000, 0)
	actPayload, err := activation.Claims{ID: activation.NewID(), License: license.ID{1}, Device: activation.NewDeviceID(), IssuedAt: now, Fingerprint: fp}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	act, _ := k.Sign(license.TypeActivation, actPayload)
	rl, _ := license.NewRevocations("v", 1, now, now.Add(time.Hour), nil, nil, nil)
	rlPayload, _ := rl.Marshal()
	rev, _ := k.Sign(license.TypeRevocation, rlPayload)
	req, err := activation.NewRequest(lic, fp, "host", false)
	if err != nil {
		t.Fatal(err)
	}
	reqBin, _ := req.MarshalBinary()
	pubBin, _ := k.Public().MarshalBinary()
	for _, tc := range []struct {
		label string
		bin   []byte
	}{
		{armor.License, licBin}, {armor.Activation, act}, {armor.RevocationList, rev},
		{armor.PublicKey, pubBin}, {armor.Fingerprint, fpBin}, {armor.ActivationRequest, reqBin},
	} {
		for form, in := range map[string][]byte{"binary": tc.bin, "armored": armor.Encode(tc.label, tc.bin), "line": []byte(armor.Line(tc.label, tc.bin))} {
			got, err := license.Sniff(in)
			if err != nil || got != tc.label {
				t.Errorf("%s (%s): got %q, %v", tc.label, form, got, err)
			}
		}
	}
	for name, tc := range map[string]struct {
		in   []byte
		want error
	}{
		"unknown label":            {armor.Encode("CERTIFICATE", []byte{1}), license.ErrArmor},
		"binary that is no object": {[]byte{0x01}, license.ErrMalformed},
		"empty":                    {nil, license.ErrMalformed},
		"unknown token type":       {mustSign(t, k, "application/other", rlPayload), license.ErrWrongType},
	} {
		if _, err := license.Sniff(tc.in); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func mustSign(t *testing.T, k *issuer.Key, typ string, p []byte) []byte {
	b, err := k.Sign(typ, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// MaxFileSize is enough for the largest armored revocation list, CRLF line ends included.
func TestMaxFileSize(t *testing.T) {
	if n := armor.MaxTextSize(armor.RevocationList); license.MaxFileSize < n {
		t.Fatalf("MaxFileSize %d < %d", license.MaxFileSize, n)
	}
}

// Sniff never panics, and whatever it names, the reader of that kind does not
// refuse with ErrWrongType: the label it reports is the one a reader expects.
func FuzzSniff(f *testing.F) {
	if b, err := os.ReadFile("../testdata/vectors/typical.lic"); err == nil {
		f.Add(b)
		raw, _ := license.Decode(license.TypeLicense, b)
		f.Add(raw)
	}
	f.Add([]byte("seatkey-public-key:pQEBAkg"))
	f.Add([]byte{0xa2, 0x01, 0x61, 0x78, 0x02, 0xa0})
	f.Fuzz(func(t *testing.T, b []byte) {
		label, err := license.Sniff(b)
		if err != nil {
			if !errors.Is(err, license.ErrArmor) && !errors.Is(err, license.ErrMalformed) && !errors.Is(err, license.ErrWrongType) && !errors.Is(err, license.ErrTooLarge) && !errors.Is(err, license.ErrAlgorithm) {
				t.Fatalf("unclassified: %v", err)
			}
			return
		}
		if !armor.Known(label) {
			t.Fatalf("unknown label %q", label)
		}
		if label == armor.License {
			if _, err := license.Inspect(b); errors.Is(err, license.ErrWrongType) {
				t.Fatalf("sniffed a license, Inspect says: %v", err)
			}
		}
	})
}
