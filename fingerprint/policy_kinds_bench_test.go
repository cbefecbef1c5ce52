package fingerprint

import "testing"

// PolicyFor tries every platform value's digest under the scope; compare
// with BenchmarkMatch in the same run:
//
//	go test ./fingerprint -run '^$' -bench 'PolicyFor|Match$' -count 6
func BenchmarkPolicyFor(b *testing.B) {
	x, _ := serverPair(b)
	p := &Profile{}
	p.Set(Platform, "container:vm:other") // the worst case: tried last or nearly
	x.Components[Platform] = p.Digest(x.Scope).Components[Platform]
	b.ReportAllocs()
	for b.Loop() {
		PolicyFor(x)
	}
}
