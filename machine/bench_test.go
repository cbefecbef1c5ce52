package machine

import (
	"os"
	"testing"

	"github.com/seatkey/seatkey/internal/swtpm"
)

// Collection on this machine without a TPM; compare with BenchmarkReadProcBaseline,
// the cost of merely reading /proc/cpuinfo and /proc/meminfo, in the same run:
//
//	go test ./machine -run '^$' -bench . -count 6
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
	sock, _ := swtpm.Start(b, swtpm.NewState(b))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Collect(Options{TPM: sock}); err != nil {
			b.Fatal(err)
		}
	}
}
