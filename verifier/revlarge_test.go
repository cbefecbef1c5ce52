package verifier_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// A list of a million revoked licenses (21 MB binary, 28 MB armored) goes
// through the library end to end: built, signed, armored, read back by the
// verifier (armor, COSE, strict CBOR, in-place entries) and searched. Before
// the armor limits followed the type, anything past 1 MiB armored (about
// 50,000 entries) could not be read back although SPEC allows 64 MiB.
func TestMillionEntryListRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 28 MB list")
	}
	k, _ := issuer.NewKeyFromSeed(seq(32))
	now := date("2026-05-31T00:00:00Z")
	const n = 1_000_000
	es := make([]license.Entry, n)
	ids := make([]byte, 16*n)
	for i := range es {
		id := ids[16*i : 16*i+16]
		binary.BigEndian.PutUint64(id, uint64(i)*(1<<64/n)) // spread over the ID space, in order
		binary.BigEndian.PutUint64(id[8:], uint64(i)^0x5eed)
		es[i] = license.Entry{ID: id, At: now.Add(-time.Hour), Reason: license.ReasonRefunded}
	}
	rl, err := license.NewRevocations("Acme Software", 1, now, now.Add(7*24*time.Hour), es, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rl.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Sign(license.TypeRevocation, p)
	if err != nil {
		t.Fatal(err)
	}
	armored := license.Armor(license.TypeRevocation, tok)
	if len(armored) < 28_000_000 || len(armored) > license.MaxFileSize {
		t.Fatalf("armored list of %d bytes (limit %d)", len(armored), license.MaxFileSize)
	}
	keys := verifier.NewKeyring(k.Public())
	forms := map[string][]byte{"armored": armored, "line": []byte(license.Line(license.TypeRevocation, tok)), "binary": tok}
	if raceEnabled {
		forms = map[string][]byte{"armored": armored}
	}
	start := time.Now()
	for form, in := range forms {
		got, err := verifier.ParseRevocationList(in, keys)
		if err != nil {
			t.Fatalf("%s: %v", form, err)
		}
		if nl, _, _ := got.Len(); nl != n {
			t.Fatalf("%s: %d licenses", form, nl)
		}
		for _, i := range []int{0, 1, n / 2, n - 1} {
			var id license.ID
			copy(id[:], es[i].ID)
			if e, ok := got.License(id); !ok || e.Reason != license.ReasonRefunded {
				t.Fatalf("%s: entry %d not found", form, i)
			}
		}
		var missing license.ID
		missing[15] = 0xff
		if _, ok := got.License(missing); ok {
			t.Fatalf("%s: found an ID that is not listed", form)
		}
	}
	t.Logf("read back in %d forms in %v", len(forms), time.Since(start)) // measured, not asserted
}
