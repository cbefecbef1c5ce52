package issuer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// openTestLedger creates a ledger with its own clock and one recorded
// license for customer, signed by a fixed key.
func openTestLedger(t *testing.T, customer string) (*Ledger, *Key, license.ID, *time.Time) {
	t.Helper()
	l, err := CreateLedger(filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return now }
	k, _ := NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	c := license.Claims{ID: license.NewID(), Vendor: "v", Product: "p", Customer: customer, Edition: "e", Seats: 1,
		Kind: license.Subscription, IssuedAt: now.Add(-time.Hour), Expires: now.AddDate(1, 0, 0), UpgradesUntil: now.AddDate(1, 0, 0)}
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.RecordLicense(k, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	return l, k, c.ID, &now
}

func TestOpenRefusesMissingLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.db")
	if _, err := OpenLedger(path); !errors.Is(err, ErrNoLedger) {
		t.Fatalf("missing ledger: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("OpenLedger created the missing file")
	}
	l, err := CreateLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	if _, err := CreateLedger(path); !errors.Is(err, ErrLedgerExists) {
		t.Fatalf("create over a ledger: %v", err)
	}
	l, err = OpenLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func TestRevokeOnlyKnown(t *testing.T) {
	l, k, id, _ := openTestLedger(t, "Globex")
	for target, want := range map[string]error{
		license.ID{1}.String():    ErrUnknownLicense,
		"act_" + id.String()[4:]:  ErrUnknownActivation,
		license.KeyID{1}.String(): ErrUnknownKey,
	} {
		if _, err := l.Revoke(target, license.ReasonUnspecified, time.Time{}); !errors.Is(err, want) {
			t.Errorf("revoke %s: %v, want %v", target, err, want)
		}
		if err := l.Unrevoke(target); !errors.Is(err, want) {
			t.Errorf("unrevoke %s: %v, want %v", target, err, want)
		}
	}
	if _, err := l.Revoke(k.ID().String(), license.ReasonRetired, time.Time{}); err != nil {
		t.Fatalf("revoke a recorded key: %v", err)
	}
	if err := l.Unrevoke(id.String()); !errors.Is(err, ErrNotRevoked) {
		t.Fatalf("unrevoke what is not revoked: %v", err)
	}
	tok, err := l.LicenseToken(id)
	if err != nil || len(tok) == 0 {
		t.Fatalf("LicenseToken: %v", err)
	}
	if _, err := l.LicenseToken(license.ID{1}); !errors.Is(err, ErrUnknownLicense) {
		t.Fatalf("LicenseToken unknown: %v", err)
	}
}

// A revocation dated later is in no list published before that time; a
// retirement dated later is listed at once (its time selects the tokens).
func TestRevokeInTheFuture(t *testing.T) {
	l, k, id, now := openTestLedger(t, "Globex")
	at := now.Add(48 * time.Hour)
	if _, err := l.Revoke(id.String(), license.ReasonRefunded, at); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Revoke(k.ID().String(), license.ReasonRetired, at); err != nil {
		t.Fatal(err)
	}
	count := func() (int, int) {
		_, list, err := l.PublishRevocationList(k, "v", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		nl, _, nk := list.Len()
		return nl, nk
	}
	if nl, nk := count(); nl != 0 || nk != 1 {
		t.Fatalf("before the time: %d licenses (want 0), %d keys (want 1)", nl, nk)
	}
	// At that time the retired key signs nothing more: the next list comes
	// from its successor.
	*now = at
	next, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.PublishRevocationList(k, "v", time.Hour); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("a list signed by the retired key: %v", err)
	}
	k = next
	if nl, _ := count(); nl != 1 {
		t.Fatalf("at the time: %d licenses, want 1", nl)
	}
}

func TestCustomerName(t *testing.T) {
	l, _, _, _ := openTestLedger(t, "Globex Corp")
	for _, q := range []string{"Globex Corp", "globex corp", "GLOBEX CORP"} {
		if n, err := l.CustomerName(q); err != nil || n != "Globex Corp" {
			t.Errorf("%q: %q %v", q, n, err)
		}
	}
	if _, err := l.CustomerName("Globex"); !errors.Is(err, ErrUnknownCustomer) {
		t.Fatalf("prefix matched: %v", err)
	}
}

// Cells a spreadsheet would run as formulas are neutralised; the tables read
// back with encoding/csv keep one width.
func TestCSVNeutralised(t *testing.T) {
	for in, want := range map[string]string{
		"=HYPERLINK(\"http://x\")": `"'=HYPERLINK(""http://x"")"`,
		"+1":                       "'+1",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tx":                      "'\tx",
		"\rx":                      "\"'\rx\"",
		"a=b":                      "a=b",
		"Globex, Inc.":             `"Globex, Inc."`,
	} {
		if got := string(appendCSVField(nil, in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	l, _, _, _ := openTestLedger(t, "=cmd|' /C calc'!A0")
	var b bytes.Buffer
	if err := l.WriteSummaryCSV(&b, Filter{}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 || len(rows[1]) != len(SummaryHeader) || !strings.HasPrefix(rows[1][1], "'=") {
		t.Fatalf("summary CSV: %v %q", err, rows)
	}
	b.Reset()
	if err := l.WriteDeviceCSV(&b, Filter{}); err != nil || b.String() != strings.Join(DeviceHeader, ",")+"\n" {
		t.Fatalf("device CSV without devices: %v %q", err, b.String())
	}
}
