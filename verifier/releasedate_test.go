package verifier_test

import (
	"errors"
	"testing"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/verifier"
)

// SPEC.md section 7: a release date is an instant, a calendar day stands for
// 00:00:00 UTC, and upgrade protection covers a release at or before its end.
// The typical license protects upgrades until exp, 2027-01-15T00:00:00Z, and
// licenses major 4; version 5 needs the release date.
func TestReleaseDateInstant(t *testing.T) {
	k, _ := issuer.NewKeyFromSeed(seq(32))
	tok, err := k.Mint(typicalClaims())
	if err != nil {
		t.Fatal(err)
	}
	end := date("2027-01-15T00:00:00Z")
	for _, tc := range []struct {
		released time.Time
		want     error
	}{
		{end, nil},                   // the day protection ends, at midnight UTC
		{end.Add(-time.Second), nil}, // before
		{end.Add(time.Second), verifier.ErrVersion}, // later that day: after the end
		{end.AddDate(0, 0, 1), verifier.ErrVersion},
	} {
		_, err := verifier.Verify(tok, verifier.Options{Keys: verifier.NewKeyring(k.Public()), Product: "ledgerpro",
			Now: date("2026-06-01T00:00:00Z"), Version: "5.0.0", ReleaseDate: tc.released})
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("released %s: %v, want %v", tc.released.Format(time.RFC3339), err, tc.want)
		}
	}
}
