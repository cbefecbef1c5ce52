package fingerprint

import (
	"os"
	"testing"
)

// Collection on this machine without a TPM; compare with BenchmarkReadProcBaseline,
// the cost of merely reading /proc/cpuinfo and /proc/meminfo, in the same run:
//
//	go test ./fingerprint -run '^$' -bench . -count 6
func BenchmarkCollect(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Collect(Options{TPM: "none"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadProcBaseline(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		os.ReadFile("/proc/cpuinfo")
		os.ReadFile("/proc/meminfo")
	}
}

// Collection with a real (software) TPM on a unix socket.
func BenchmarkCollectTPM(b *testing.B) {
	sock, _ := startTPM(b, newTPMState(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Collect(Options{TPM: sock}); err != nil {
			b.Fatal(err)
		}
	}
}

// One match of two server fingerprints that differ in several components,
// against an exact comparison of the same digests (the cheapest possible rule).
func BenchmarkMatch(b *testing.B) {
	x := collectMachine(b, rackServer)
	y := collectMachine(b, apply(rackServer, ramUpgrade, diskReplaced, nicAdded, renamed))
	b.ReportAllocs()
	for b.Loop() {
		if !Match(x, y, &DefaultPolicy).Same {
			b.Fatal("not same")
		}
	}
}

func BenchmarkMatchExactBaseline(b *testing.B) {
	x := collectMachine(b, rackServer)
	y := collectMachine(b, apply(rackServer, ramUpgrade, diskReplaced, nicAdded, renamed))
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
