package verifier_test

import (
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

// revocationPrecisionVectors pin down what SPEC.md section 11.1 decides where
// two readings could differ: which reasons go with which entries, entries
// dated after the list, unknown and missing top-level keys, an empty iss, and
// which error wins when a list has two flaws. Each list is validly signed.
func revocationPrecisionVectors(t *testing.T, sign func([]byte) []byte, issued, next time.Time) []invalidVector {
	entry := func(id []byte, at time.Time, reason license.Reason) []byte {
		b := append([]byte(nil), id...)
		b = binary.BigEndian.AppendUint32(b, uint32(at.Unix()))
		return append(b, byte(reason))
	}
	lic := typicalClaims().ID
	kid := [8]byte{0x4b, 0x1d}
	before := issued.Add(-24 * time.Hour)
	payload := func(top map[int]any) []byte {
		b, err := cborx.Marshal(top)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	list := func(sk map[int]any) map[int]any {
		return map[int]any{1: "Acme Software", 6: issued.Unix(), license.ClaimSeatkey: sk}
	}
	var out []invalidVector
	add := func(name, errName string, top map[int]any) {
		out = append(out, invalidVector{Name: name, Token: hex.EncodeToString(sign(payload(top))), Error: errName})
	}
	add("reason key-compromise on a license entry", "ErrRevocationList", list(map[int]any{1: 7, 2: next.Unix(), 3: entry(lic[:], before, license.ReasonKeyCompromise)}))
	add("reason retired on an activation entry", "ErrRevocationList", list(map[int]any{1: 7, 2: next.Unix(), 4: entry(lic[:], before, license.ReasonRetired)}))
	add("reason refunded on a key entry", "ErrRevocationList", list(map[int]any{1: 7, 2: next.Unix(), 5: entry(kid[:], before, license.ReasonRefunded)}))
	add("unknown reason 7", "ErrRevocationList", list(map[int]any{1: 7, 2: next.Unix(), 3: entry(lic[:], before, 7)}))
	add("license entry dated after the list's iat", "ErrRevocationList", list(map[int]any{1: 7, 2: next.Unix(), 3: entry(lic[:], issued.Add(time.Second), license.ReasonRefunded)}))
	add("key-compromise dated after the list's iat", "ErrRevocationList", list(map[int]any{1: 7, 2: next.Unix(), 5: entry(kid[:], issued.Add(time.Second), license.ReasonKeyCompromise)}))
	add("empty iss", "ErrRevocationList", map[int]any{1: "", 6: issued.Unix(), license.ClaimSeatkey: map[int]any{1: 7, 2: next.Unix()}})
	add("iss missing", "ErrRevocationList", map[int]any{6: issued.Unix(), license.ClaimSeatkey: map[int]any{1: 7, 2: next.Unix()}})
	add("unknown top-level key 8", "ErrUnknownClaim", map[int]any{1: "Acme Software", 6: issued.Unix(), 8: 1, license.ClaimSeatkey: map[int]any{1: 7, 2: next.Unix()}})
	add("unknown field 9 and an empty entry list: the unknown key decides", "ErrUnknownClaim", list(map[int]any{1: 7, 2: next.Unix(), 3: []byte{}, 9: 1}))
	add("empty entry list and sequence zero: the omitted default decides", "ErrNonCanonical", list(map[int]any{1: 0, 2: next.Unix(), 3: []byte{}}))
	add("sequence as a text string", "ErrRevocationList", list(map[int]any{1: "7", 2: next.Unix()}))
	return out
}
