package verifier_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/seatkey/seatkey/verifier"
)

// Compare BenchmarkVerify with BenchmarkEd25519Verify (the bare signature check
// of the same payload) and BenchmarkMint with BenchmarkEd25519Sign, from one run:
//
//	go test ./verifier -run '^$' -bench 'Verify$|Sign$|Mint$' -count 6
func BenchmarkVerify(b *testing.B) {
	k, keys := testKey(b)
	tok, _ := k.Mint(typicalClaims())
	o := opts(keys)
	b.ReportAllocs()
	b.ReportMetric(float64(len(tok)), "token-bytes")
	for b.Loop() {
		if _, err := verifier.Verify(tok, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(seq(32))
	payload, _ := typicalClaims().Marshal()
	sig := ed25519.Sign(priv, payload)
	pub := priv.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(pub, payload, sig) {
			b.Fatal("bad signature")
		}
	}
}

func BenchmarkMint(b *testing.B) {
	k, _ := testKey(b)
	c := typicalClaims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Mint(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Sign(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(seq(32))
	payload, _ := typicalClaims().Marshal()
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, payload)
	}
}
