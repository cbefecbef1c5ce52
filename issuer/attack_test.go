package issuer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// These tests are the hostile customer of issue 9: each attack must be
// refused (or flagged), and the report's seats must equal the machines
// that can verify.

func licID(t testing.TB, tok []byte) license.ID {
	lt, err := license.Inspect(tok)
	if err != nil {
		t.Fatal(err)
	}
	return lt.Claims.ID
}

func summary(t testing.TB, l *Ledger, tok []byte) Summary {
	t.Helper()
	s, err := l.Summaries(Filter{License: licID(t, tok)})
	if err != nil || len(s) != 1 {
		t.Fatalf("summary: %v %v", s, err)
	}
	return s[0]
}

func countRows(t testing.TB, l *Ledger, q string, args ...any) int {
	t.Helper()
	var n int
	if err := l.db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// verifyOn verifies an activation on a machine with the revocation list.
func verifyOn(k *Key, tok, act []byte, m *fingerprint.Profile, list []byte) error {
	keys := verifier.NewKeyring(k.Public())
	o := verifier.Options{Keys: keys, Product: product, Now: ledgerNow}
	if list != nil {
		rl, err := verifier.ParseRevocationList(list, keys)
		if err != nil {
			return err
		}
		o.Revocations = rl
	}
	_, err := verifier.VerifyActivation(tok, license.Armor(license.TypeActivation, act), m.Digest(product), o)
	return err
}

// only keeps the named components of p.
func only(p *fingerprint.Profile, cs ...fingerprint.Component) *fingerprint.Profile {
	q := &fingerprint.Profile{}
	for _, c := range cs {
		q.Set(c, p.Values[c]...)
	}
	return q
}

// (a) A request that shows only NICs, A's and B's, cannot pass as A.
func TestAttackNICsOnly(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	noMigrations(t, l, k, tok) // B's honest request would otherwise start a server migration
	a, b := syntheticMachine(1), syntheticMachine(2)
	ra, err := l.Activate(k, requestFor(t, tok, a, "A", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, b, "B", false)); !errors.Is(err, ErrSeatsExhausted) {
		t.Fatalf("B honestly: %v", err)
	}
	crafted := &fingerprint.Profile{}
	crafted.Set(fingerprint.NICs, append(append([]string{}, a.Values[fingerprint.NICs]...), b.Values[fingerprint.NICs][0])...)
	before := ledgerCounts(t, l)
	_, err = l.Activate(k, requestFor(t, tok, crafted, "A", false))
	if !errors.Is(err, ErrRequestRefused) || !strings.Contains(err.Error(), "same user") || !strings.Contains(err.Error(), ra.Device.String()) {
		t.Fatalf("NICs-only request: %v", err)
	}
	if after := ledgerCounts(t, l); after != before {
		t.Fatalf("the refusal changed the ledger:\n%s\n%s", before, after)
	}
	if s := summary(t, l, tok); s.Used != 1 || s.Overage != 0 {
		t.Fatalf("report: %+v", s)
	}
	// A's own activation is still A's alone.
	if err := verifyOn(k, tok, ra.Token, b, nil); !errors.Is(err, verifier.ErrDevice) {
		t.Fatalf("A's activation on B: %v", err)
	}
}

// (b) Another machine that hides its CPU, serials, UUID and TPM and shows
// A's MAC cannot pass A's activation, on the machine or at the ledger; nor
// can A itself, run with less access than at activation.
func TestAttackHiddenComponents(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	a := treeProfile(t, serverTree)
	a.Set(fingerprint.TPMEK, "rsa:"+strings.Repeat("ab", 32)) // A has a TPM
	ra, err := l.Activate(k, requestFor(t, tok, a, "A", false))
	if err != nil {
		t.Fatal(err)
	}
	// B: the same model, its own serials and disks, then hidden as an
	// unprivileged user in a namespace would: no /proc/cpuinfo, no root-only
	// DMI files, no TPM, and A's two MACs bind-mounted over its own.
	bTree := copyTree(t, serverTree)
	for _, f := range []string{"proc/cpuinfo", "sys/class/dmi/id/board_serial", "sys/class/dmi/id/product_serial", "sys/class/dmi/id/product_uuid"} {
		if err := os.Remove(filepath.Join(bTree, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dev := range []string{"b8:0", "b8:16"} {
		p := filepath.Join(bTree, "run/udev/data", dev)
		u, _ := os.ReadFile(p)
		os.WriteFile(p, []byte(strings.ReplaceAll(strings.ReplaceAll(string(u), "0x5002538e4090", "0x5002538eB0B0"), "S4EWNX", "ZZB")), 0o644)
	}
	b := treeProfile(t, bTree)
	if b.Values[fingerprint.CPU] != nil || b.Values[fingerprint.BoardSerial] != nil || b.Values[fingerprint.Disks][0] == a.Values[fingerprint.Disks][0] {
		t.Fatalf("the hidden tree reads as %v", b.Values)
	}
	err = verifyOn(k, tok, ra.Token, b, nil)
	var de *verifier.DeviceError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "cannot be read now") {
		t.Fatalf("B with hidden components passed A's activation: %v", err)
	}
	before := ledgerCounts(t, l)
	if _, err := l.Activate(k, requestFor(t, tok, b, "A", false)); !errors.Is(err, ErrRequestRefused) || !strings.Contains(err.Error(), "cpu") {
		t.Fatalf("hidden B at the ledger: %v", err)
	}
	// A itself, run without root now: refused too, and told why.
	aHidden := only(a, fingerprint.CPU, fingerprint.BoardModel, fingerprint.BIOS, fingerprint.Memory, fingerprint.Disks, fingerprint.NICs)
	_, err = l.Activate(k, requestFor(t, tok, aHidden, "A", false))
	if !errors.Is(err, ErrRequestRefused) || !strings.Contains(err.Error(), "board-serial, system-uuid, system-serial, tpm-ek") || !strings.Contains(err.Error(), "same user as before") {
		t.Fatalf("A without root: %v", err)
	}
	if after := ledgerCounts(t, l); after != before || summary(t, l, tok).Used != 1 {
		t.Fatalf("refusals changed the ledger:\n%s\n%s", before, after)
	}
}

// (c) Activate/decommission rounds on one seat: each decommissioned
// machine's activation is in the next revocation list, and the machines that
// verify are exactly the seats the report counts.
func TestAttackDecommissionRounds(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	type running struct {
		m   *fingerprint.Profile
		res *Result
	}
	var machines []running
	check := func(round int) {
		t.Helper()
		list, _, err := l.PublishRevocationList(k, "Acme", 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		verifying := 0
		for _, r := range machines {
			if verifyOn(k, tok, r.res.Token, r.m, list) == nil {
				verifying++
			}
		}
		if used := summary(t, l, tok).Used; used != verifying {
			t.Fatalf("round %d: report says %d used, %d machines verify", round, used, verifying)
		}
	}
	for i := 0; i < 5; i++ {
		m := syntheticMachine(10 + i)
		res, err := l.Activate(k, requestFor(t, tok, m, fmt.Sprint("m", i), false))
		if err != nil || res.Outcome != NewDevice {
			t.Fatalf("round %d: %v", i, err)
		}
		machines = append(machines, running{m, res})
		check(i)
		if err := l.Decommission(res.Device); err != nil {
			t.Fatal(err)
		}
		check(i)
	}
	m := syntheticMachine(20)
	res, err := l.Activate(k, requestFor(t, tok, m, "last", false))
	if err != nil {
		t.Fatal(err)
	}
	machines = append(machines, running{m, res})
	check(5)
	if n := countRows(t, l, `SELECT COUNT(*) FROM revocations WHERE kind = 'activation' AND reason = ?`, int(license.ReasonSuperseded)); n != 5 {
		t.Fatalf("%d superseded activations, want 5", n)
	}
}

// (d) Showing other components (NICs only, disks only) cannot make a
// decommissioned device look new: the recommission count follows it.
func TestAttackAlternatingShapes(t *testing.T) {
	l, _ := newLedger(t)
	l.RecommissionLimit = 2
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	a := syntheticMachine(1)
	r, err := l.Activate(k, requestFor(t, tok, a, "A", false))
	if err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 3; round++ {
		if err := l.Decommission(r.Device); err != nil {
			t.Fatal(err)
		}
		for _, shape := range []*fingerprint.Profile{only(a, fingerprint.NICs), only(a, fingerprint.Disks), only(a, fingerprint.CPU, fingerprint.Disks, fingerprint.NICs)} {
			if res, err := l.Activate(k, requestFor(t, tok, shape, "A", false)); !errors.Is(err, ErrRequestRefused) {
				t.Fatalf("round %d: a partial shape of A: %v %+v", round, err, res)
			}
		}
		res, err := l.Activate(k, requestFor(t, tok, a, "A", false))
		if round == 3 {
			if !errors.Is(err, ErrSuspended) {
				t.Fatalf("third recommission past a limit of 2: %v", err)
			}
			break
		}
		if err != nil || res.Outcome != Recommissioned || res.Device != r.Device {
			t.Fatalf("round %d: %v %+v", round, err, res)
		}
		var devs []Device
		l.EachDevice(Filter{}, func(d *Device) error { devs = append(devs, *d); return nil })
		if len(devs) != 1 || devs[0].Recommissions != round {
			t.Fatalf("round %d: devices %+v", round, devs)
		}
	}
}

// (e) An overage device's bill stays once incurred.
func TestAttackOverageBillSurvivesDecommission(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{OverageAllowed: true, OveragePriceCents: 7500}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "A", false)); err != nil {
		t.Fatal(err)
	}
	b := syntheticMachine(2)
	rb, err := l.Activate(k, requestFor(t, tok, b, "B", false))
	if err != nil || !rb.Overage {
		t.Fatalf("B: %v %+v", err, rb)
	}
	if err := l.Decommission(rb.Device); err != nil {
		t.Fatal(err)
	}
	if s := summary(t, l, tok); s.Used != 1 || s.Overage != 1 || s.AmountCents != 7500 {
		t.Fatalf("decommissioning erased the bill: %+v", s)
	}
	var billed Device
	l.EachDevice(Filter{}, func(d *Device) error {
		if d.ID == rb.Device {
			billed = *d
		}
		return nil
	})
	if billed.PriceCents != 7500 || billed.Overage {
		t.Fatalf("device row: %+v", billed)
	}
	// Back beyond the seats: billed again, at that time.
	if r, err := l.Activate(k, requestFor(t, tok, b, "B", false)); err != nil || r.Outcome != Recommissioned || !r.Overage {
		t.Fatalf("B back: %v %+v", err, r)
	}
	if s := summary(t, l, tok); s.Used != 2 || s.Overage != 2 || s.AmountCents != 15000 {
		t.Fatalf("after B came back: %+v", s)
	}
}

// (f) A request whose identity belongs to two devices is refused and the
// vendor's operators are told, even though the activation rolled back.
func TestAttackIdentityConflict(t *testing.T) {
	l, _ := newLedger(t)
	l.OperatorContact = "licensing@acme.example"
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 3, license.Subscription, 0)
	a, b := syntheticMachine(1), syntheticMachine(2)
	ra, _ := l.Activate(k, requestFor(t, tok, a, "A", false))
	rb, err := l.Activate(k, requestFor(t, tok, b, "B", false))
	if err != nil {
		t.Fatal(err)
	}
	// A as it is, plus one of B's NICs: within what A may gain, but B's.
	merged := syntheticMachine(1)
	merged.Set(fingerprint.NICs, append(append([]string{}, a.Values[fingerprint.NICs]...), b.Values[fingerprint.NICs][0])...)
	devices := countRows(t, l, `SELECT COUNT(*) FROM devices`)
	_, err = l.Activate(k, requestFor(t, tok, merged, "A", false))
	if !errors.Is(err, ErrIdentityConflict) || !errors.Is(err, ErrRequestRefused) || !strings.Contains(err.Error(), ra.Device.String()) || !strings.Contains(err.Error(), rb.Device.String()) {
		t.Fatalf("merged identity: %v", err)
	}
	if countRows(t, l, `SELECT COUNT(*) FROM devices`) != devices || countRows(t, l, `SELECT COUNT(*) FROM activations`) != 2 {
		t.Fatal("the refused request left a device or an activation")
	}
	if n := countRows(t, l, `SELECT COUNT(*) FROM events WHERE kind = 'flagged' AND detail LIKE '%' || ? || '%'`, rb.Device.String()); n != 1 {
		t.Fatalf("%d flagged events", n)
	}
	notes, _ := l.Notifications(true)
	if len(notes) == 0 || notes[len(notes)-1].Kind != "identity-conflict" || notes[len(notes)-1].Recipient != "licensing@acme.example" {
		t.Fatalf("operators not told: %+v", notes)
	}

	// Another customer's license: A's hardware is in use by Globex.
	other := mintFor(t, k, "Initech", 5, license.Subscription, 0)
	if _, err := l.Activate(k, requestFor(t, other, a, "borrowed", false)); !errors.Is(err, ErrIdentityConflict) {
		t.Fatalf("another customer's license on A: %v", err)
	}
	otherID := licID(t, other)
	if n := countRows(t, l, `SELECT COUNT(*) FROM notifications WHERE kind = 'identity-conflict' AND license_id = ?`, otherID[:]); n != 1 {
		t.Fatalf("conflict on a license first seen in the request: %d notifications", n)
	}
	// The same customer's renewal: allowed.
	renewal := mintFor(t, k, "Globex", 3, license.Perpetual, 0)
	if r, err := l.Activate(k, requestFor(t, renewal, a, "A", false)); err != nil || r.Outcome != NewDevice {
		t.Fatalf("renewal on A: %v", err)
	}
}

// (g) The issuer applies its own revocations.
func TestAttackRevokedLicenseAndKeys(t *testing.T) {
	l, _ := newLedger(t)
	old := testIssuerKey(t)
	current, _ := NewKeyFromSeed(make([]byte, 32))
	tok := mintFor(t, old, "Globex", 5, license.Subscription, 0)
	if err := l.RecordLicense(old, tok, LicensePolicy{}); err != nil { // the ledger knows the old key
		t.Fatal(err)
	}
	_, err := l.Activate(current, requestFor(t, tok, syntheticMachine(1), "m1", false))
	if err != nil {
		t.Fatal(err)
	}
	// A revoked license gets no new activation.
	if _, err := l.Revoke(licID(t, tok).String(), license.ReasonRefunded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(current, requestFor(t, tok, syntheticMachine(2), "m2", false)); !errors.Is(err, ErrLicenseRevoked) {
		t.Fatalf("revoked license: %v", err)
	}
	// A retired key: licenses it issued before stay good, later ones do not,
	// and it signs nothing after its retirement.
	tok2 := mintFor(t, old, "Globex", 5, license.Subscription, 0) // iat a day ago
	if _, err := l.Revoke(old.ID().String(), license.ReasonRetired, ledgerNow.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(current, requestFor(t, tok2, syntheticMachine(3), "m3", false)); err != nil {
		t.Fatalf("license issued before the retirement: %v", err)
	}
	late, _ := old.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: 5, Kind: license.Subscription,
		IssuedAt: ledgerNow.Add(-time.Minute), Expires: ledgerNow.AddDate(1, 0, 0)})
	if _, err := l.Activate(current, requestFor(t, late, syntheticMachine(4), "m4", false)); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("license issued after the retirement: %v", err)
	}
	if _, err := l.Activate(old, requestFor(t, tok2, syntheticMachine(5), "m5", false)); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("signing with a retired key: %v", err)
	}
	// Compromised: nothing the key signed is honoured, not even a replayed
	// request, and it signs nothing.
	replay := requestFor(t, tok2, syntheticMachine(8), "m8", false)
	if _, err := l.Activate(current, replay); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Revoke(old.ID().String(), license.ReasonKeyCompromise, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(current, replay); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("replay of a compromised key's license: %v", err)
	}
	if _, err := l.Activate(current, requestFor(t, tok2, syntheticMachine(6), "m6", false)); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("license of a compromised key: %v", err)
	}
	if _, _, err := l.PublishRevocationList(old, "Acme", time.Hour); !errors.Is(err, ErrKeyRevoked) {
		t.Fatalf("list signed with a compromised key: %v", err)
	}
	// A device whose activation the vendor revoked gets no new one.
	tok3 := mintFor(t, current, "Globex", 5, license.Subscription, 0)
	r3, err := l.Activate(current, requestFor(t, tok3, syntheticMachine(7), "m7", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Revoke(r3.Activation.String(), license.ReasonAbuse, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(current, requestFor(t, tok3, syntheticMachine(7), "m7 again", false)); !errors.Is(err, ErrDeviceRevoked) {
		t.Fatalf("revoked device: %v", err)
	}
}
