package issuer

import (
	"errors"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustVersion(t *testing.T, s string) license.Version {
	t.Helper()
	v, err := license.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestReleaseCatalogAndLegacy(t *testing.T) {
	l, _ := newLedger(t)
	add := func(v, date string) error { return l.AddRelease("ledgerpro", mustVersion(t, v), day(date)) }
	for _, r := range []struct{ v, d string }{
		{"10.0.0", "2023-01-10"}, {"10.1.0", "2023-06-01"}, {"11.0.0-rc1", "2024-01-05"}, {"11.0.0", "2024-02-01"},
		{"10.2.0", "2024-03-01"}, // 10.x is not legacy yet: one newer major
		{"12.0.0+build.7", "2025-02-01"},
	} {
		if err := add(r.v, r.d); err != nil {
			t.Fatalf("%s: %v", r.v, err)
		}
	}
	// With 12.x out, 10.x is legacy: no new minor, but a patch of a released minor is fine.
	if err := add("10.3.0", "2025-03-01"); !errors.Is(err, ErrLegacyMajor) {
		t.Fatalf("a minor release of legacy 10.x: %v", err)
	}
	if err := add("10.2.1", "2025-03-01"); err != nil {
		t.Fatalf("a patch of legacy 10.2: %v", err)
	}
	if err := add("11.1.0", "2025-03-01"); err != nil {
		t.Fatalf("11.x is not legacy: %v", err)
	}
	if err := add("11.1.0", "2025-03-02"); !errors.Is(err, ErrReleaseExists) {
		t.Fatalf("the same release twice: %v", err)
	}
	// Backdating a new minor of legacy 10.x to before 12.x came out is refused.
	if err := add("10.3.0", "2024-04-01"); !errors.Is(err, ErrReleaseOutOfTurn) {
		t.Fatalf("a backdated minor release of a legacy major: %v", err)
	}
	// Pre-releases of newer majors make nothing legacy.
	if err := add("13.0.0-beta.1", "2025-04-01"); err != nil {
		t.Fatal(err)
	}
	if err := add("11.2.0", "2025-05-01"); err != nil {
		t.Fatalf("11.x with only a 13 pre-release out: %v", err)
	}
	rs, err := l.Releases("ledgerpro")
	if err != nil {
		t.Fatal(err)
	}
	legacy := map[string]bool{}
	for _, r := range rs {
		legacy[r.Version.String()] = r.Legacy
	}
	if !legacy["10.1.0"] || legacy["11.0.0"] || legacy["12.0.0+build.7"] {
		t.Fatalf("legacy flags: %v", legacy)
	}
}

func TestEntitlement(t *testing.T) {
	l, _ := newLedger(t)
	for _, r := range []struct{ v, d string }{
		{"3.9.0", "2024-01-01"}, {"4.0.0", "2025-01-01"}, {"4.2.1", "2025-09-01"}, {"5.0.0", "2026-03-01"}, {"5.1.0", "2026-09-01"}, {"6.0.0-rc1", "2026-10-01"},
	} {
		if err := l.AddRelease("ledgerpro", mustVersion(t, r.v), day(r.d)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		c      license.Claims
		newest string
	}{
		{"minor within the major, protection over", license.Claims{Major: 4, UpgradesUntil: day("2025-06-30")}, "4.2.1"},
		{"newer major inside protection", license.Claims{Major: 4, UpgradesUntil: day("2026-06-30")}, "5.0.0"},
		{"protection ends the day of a release", license.Claims{Major: 4, UpgradesUntil: day("2026-09-01")}, "5.1.0"},
		{"no major, protection until", license.Claims{UpgradesUntil: day("2025-12-31")}, "4.2.1"},
		{"no major, no protection: everything", license.Claims{}, "6.0.0-rc1"},
		{"major 3 without protection", license.Claims{Major: 3}, "3.9.0"},
	} {
		tc.c.Product = "ledgerpro"
		e, err := l.Entitlement(&tc.c)
		if err != nil {
			t.Fatal(err)
		}
		if e.Newest == nil || e.Newest.Version.String() != tc.newest {
			t.Errorf("%s: newest %v, want %s", tc.name, e.Newest, tc.newest)
		}
	}
}

// The report shows, for each license, the newest release it may run and
// whether that major is legacy (SPEC 12.1).
func TestReportShowsNewestRelease(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	for _, r := range []struct{ v, d string }{{"4.2.1", "2025-09-01"}, {"5.0.0", "2026-03-01"}, {"6.0.0", "2026-04-01"}} {
		if err := l.AddRelease(product, mustVersion(t, r.v), day(r.d)); err != nil {
			t.Fatal(err)
		}
	}
	c := license.Claims{ID: license.NewID(), Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: 1,
		Kind: license.Perpetual, Major: 4, UpgradesUntil: day("2025-12-31"), IssuedAt: ledgerNow.AddDate(-1, 0, 0)}
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.RecordLicense(k, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	s, err := l.Summaries(Filter{})
	if err != nil || len(s) != 1 {
		t.Fatal(s, err)
	}
	if s[0].NewestRelease != "4.2.1" || !s[0].NewestIsLegacy {
		t.Fatalf("newest %q legacy %v, want 4.2.1, legacy (5.x and 6.x are out)", s[0].NewestRelease, s[0].NewestIsLegacy)
	}
}
