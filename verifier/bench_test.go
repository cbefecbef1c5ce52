package verifier_test

import (
	"crypto/ed25519"
	"encoding/binary"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"

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

// A revocation list with a million revoked licenses (and some activations).
func millionList(b *testing.B) ([]byte, *verifier.Keyring, []license.ID) {
	k, keys := testKey(b)
	const n = 1_000_000
	lics := make([]license.Entry, n)
	ids := make([]license.ID, n)
	var x uint64 = 0x9e3779b97f4a7c15
	for i := range lics {
		for j := 0; j < 16; j += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			binary.BigEndian.PutUint64(ids[i][j:], x)
		}
		lics[i] = license.Entry{ID: ids[i][:], At: now, Reason: license.ReasonRefunded}
	}
	acts := lics[:1000]
	rl, err := license.NewRevocations("Acme Software", 1, now, now.Add(7*24*time.Hour), lics, acts, nil)
	if err != nil {
		b.Fatal(err)
	}
	p, _ := rl.Marshal()
	tok, _ := k.Sign(license.TypeRevocation, p)
	return tok, keys, ids
}

func BenchmarkRevocationListLoad1M(b *testing.B) {
	tok, keys, _ := millionList(b)
	b.ReportMetric(float64(len(tok)), "list-bytes")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := verifier.ParseRevocationList(tok, keys); err != nil {
			b.Fatal(err)
		}
	}
}

// The signature check alone over a payload of the same size: the floor.
func BenchmarkRevocationListBaselineEd25519(b *testing.B) {
	tok, _, _ := millionList(b)
	priv := ed25519.NewKeyFromSeed(seq(32))
	sig := ed25519.Sign(priv, tok)
	pub := priv.Public().(ed25519.PublicKey)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		ed25519.Verify(pub, tok, sig)
	}
}

func BenchmarkRevocationLookup1M(b *testing.B) {
	tok, keys, ids := millionList(b)
	rl, err := verifier.ParseRevocationList(tok, keys)
	if err != nil {
		b.Fatal(err)
	}
	miss := license.ID{0xff, 0xfe}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := rl.License(ids[(i*7919)%len(ids)]); !ok {
			b.Fatal("missing")
		}
		rl.License(miss)
		i++
	}
}

// A Go map of the same million IDs: what "decoded into a map" would cost per lookup pair.
func BenchmarkRevocationLookupBaselineMap(b *testing.B) {
	_, _, ids := millionList(b)
	m := make(map[license.ID]struct{}, len(ids))
	for _, id := range ids {
		m[id] = struct{}{}
	}
	miss := license.ID{0xff, 0xfe}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := m[ids[(i*7919)%len(ids)]]; !ok {
			b.Fatal("missing")
		}
		_ = m[miss]
		i++
	}
}

// The state file's cost, against BenchmarkVerify from the same run: "read"
// verifies at a fixed time (the file is read, nothing changes, nothing is
// written); "write" moves the clock a minute each time (read, then an
// atomic replace with fsync: the latest time seen moves in steps of a minute).
//
//	go test ./verifier -run '^$' -bench 'Verify$|VerifyState' -benchtime 200x -count 6
func BenchmarkVerifyState(b *testing.B) {
	k, keys := testKey(b)
	tok, _ := k.Mint(typicalClaims())
	for _, write := range []bool{false, true} {
		name := "read"
		if write {
			name = "write"
		}
		b.Run(name, func(b *testing.B) {
			o := opts(keys)
			o.State = b.TempDir() + "/state"
			b.ReportAllocs()
			for b.Loop() {
				if write {
					o.Now = o.Now.Add(time.Minute)
				}
				if _, err := verifier.Verify(tok, o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
