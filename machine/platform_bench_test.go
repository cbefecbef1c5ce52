package machine

import "testing"

// Platform detection on this machine; compare with BenchmarkReadProcBaseline
// (bench_test.go) in the same run:
//
//	go test ./machine -run '^$' -bench 'DetectPlatform|ReadProcBaseline' -count 6
func BenchmarkDetectPlatform(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		detectPlatform("")
	}
}
