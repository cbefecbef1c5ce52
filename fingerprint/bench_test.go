package fingerprint

import (
	"os"
	"testing"
)

// serverPair is the rack server's profile (testdata/profiles) enrolled, and
// the same machine after more RAM, a replaced disk, an added NIC and a rename.
func serverPair(tb testing.TB) (x, y *Fingerprint) {
	b, err := os.ReadFile("testdata/profiles/server.json")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := ParseProfileJSON(b)
	if err != nil {
		tb.Fatal(err)
	}
	x = p.Digest("ledgerpro")
	p.Set(Memory, "512 GiB")
	p.Set(Disks, append(p.Values[Disks][1:], "sn:NEWDISK0001")...)
	p.Set(NICs, append(p.Values[NICs], "3c:ec:ef:00:00:99")...)
	p.Set(Hostname, "renamed")
	return x, p.Digest("ledgerpro")
}

// One match of two server fingerprints that differ in several components,
// against an exact comparison of the same digests (the cheapest possible rule).
func BenchmarkMatch(b *testing.B) {
	x, y := serverPair(b)
	b.ReportAllocs()
	for b.Loop() {
		if !Match(x, y, &DefaultPolicy).Same {
			b.Fatal("not same")
		}
	}
}

func BenchmarkMatchExactBaseline(b *testing.B) {
	x, y := serverPair(b)
	b.ReportAllocs()
	same := 0
	for b.Loop() {
		for c := range x.Components {
			if intersect(x.Components[c], y.Components[c]) == len(x.Components[c]) {
				same++
			}
		}
	}
	_ = same
}
