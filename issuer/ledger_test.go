package issuer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/pgtest"
	"github.com/seatkey/seatkey/internal/testhw"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

var ledgerNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const product = "ledgerpro"

// newLedger makes an empty ledger for a test: an SQLite file, or in the
// PostgreSQL run (TestSuiteOnPostgres) a new PostgreSQL database.
func newLedger(t testing.TB) (*Ledger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	if onPostgres {
		path = pgtest.Need(t).NewDatabase(t)
	}
	return newLedgerOn(t, path)
}

func newLedgerOn(t testing.TB, path string) (*Ledger, string) {
	t.Helper()
	l, err := CreateLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Now = func() time.Time { return ledgerNow }
	l.Actor = "test"
	t.Cleanup(func() { l.Close() })
	return l, path
}

func testIssuerKey(t testing.TB) *Key {
	k, err := NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mintFor(t testing.TB, k *Key, customer string, seats int, kind license.Kind, failover int) []byte {
	t.Helper()
	c := license.Claims{Vendor: "Acme", Customer: customer, Product: product, Edition: "pro", Seats: seats, Failover: failover,
		Kind: kind, IssuedAt: ledgerNow.Add(-24 * time.Hour)}
	switch kind {
	case license.Subscription:
		c.Expires = ledgerNow.AddDate(1, 0, 0)
	case license.Perpetual:
		c.UpgradesUntil = ledgerNow.AddDate(1, 0, 0)
	}
	tok, err := k.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func requestFor(t testing.TB, tok []byte, p *fingerprint.Profile, label string, failover bool) []byte {
	t.Helper()
	r, err := activation.NewRequest(tok, p.Digest(product), label, failover)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Armor()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seatsUsed(t testing.TB, l *Ledger, tok []byte) int {
	t.Helper()
	lt, _ := license.Inspect(tok)
	s, err := l.Summaries(Filter{License: lt.Claims.ID})
	if err != nil || len(s) != 1 {
		t.Fatalf("summary: %v %v", s, err)
	}
	return s[0].Used
}

func treeProfile(t testing.TB, root string) *fingerprint.Profile {
	p, err := machine.Collect(machine.Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func write(t testing.TB, root, rel, content string) {
	if err := os.WriteFile(filepath.Join(root, rel), []byte(content+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

const serverTree = "../machine/testdata/hw/server"

// The seed scenarios, through the fixture trees and the real ghw path.
func TestReimagedAndMotherboardThroughFixtures(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 5, license.Subscription, 0)
	first, err := l.Activate(k, requestFor(t, tok, treeProfile(t, serverTree), "db-prod-01", false))
	if err != nil || first.Outcome != NewDevice {
		t.Fatalf("first activation: %v %+v", err, first)
	}
	reimaged := copyTree(t, serverTree)
	write(t, reimaged, "etc/machine-id", "99999999999999999999999999999999")
	write(t, reimaged, "proc/sys/kernel/hostname", "db-prod-01-reinstalled")
	again, err := l.Activate(k, requestFor(t, tok, treeProfile(t, reimaged), "db-prod-01 (reinstalled)", false))
	if err != nil || again.Outcome != SameDevice || again.Device != first.Device {
		t.Fatalf("re-imaged: %v %+v", err, again)
	}
	if n := seatsUsed(t, l, tok); n != 1 {
		t.Fatalf("re-imaging cost a seat: %d used", n)
	}
	board := copyTree(t, serverTree)
	write(t, board, "sys/class/dmi/id/board_serial", "NEWBOARD0042")
	write(t, board, "sys/class/dmi/id/product_uuid", "0f0e0d0c-0b0a-0908-0706-050403020100")
	nb, err := l.Activate(k, requestFor(t, tok, treeProfile(t, board), "db-prod-01 (new board)", false))
	if err != nil || nb.Outcome != NewDevice || nb.Device == first.Device {
		t.Fatalf("motherboard replaced: %v %+v", err, nb)
	}
	if n := seatsUsed(t, l, tok); n != 2 {
		t.Fatalf("new motherboard should take a seat: %d used", n)
	}
}

func TestActivationTokenVerifiesOnTheDevice(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 5, license.Subscription, 0)
	m := syntheticMachine(1)
	res, err := l.Activate(k, requestFor(t, tok, m, "m1", false))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Token) > 450 {
		t.Errorf("activation token with 11 hardware digests is %d bytes", len(res.Token))
	}
	// The goal: at most 400 bytes with 8 components.
	eight := &fingerprint.Profile{}
	for _, c := range []fingerprint.Component{fingerprint.CPU, fingerprint.BoardModel, fingerprint.BoardSerial, fingerprint.SystemUUID,
		fingerprint.SystemSerial, fingerprint.Disks, fingerprint.NICs, fingerprint.TPMEK} {
		eight.Set(c, "value of "+c.String())
	}
	r8, err := l.Activate(k, requestFor(t, tok, eight, "eight", false))
	if err != nil {
		t.Fatal(err)
	}
	if len(r8.Token) > 400 {
		t.Errorf("activation token with 8 components is %d bytes, goal 400", len(r8.Token))
	}
	t.Logf("activation token: %d bytes with 8 components, %d with 9 components (11 digests)", len(r8.Token), len(res.Token))
	opts := verifier.Options{Keys: verifier.NewKeyring(k.Public()), Product: product, Now: ledgerNow}
	act := license.Armor(license.TypeActivation, res.Token)
	m.Set(fingerprint.Memory, "128 GiB") // a RAM upgrade since
	a, err := verifier.VerifyActivation(tok, act, m.Digest(product), opts)
	if err != nil || a.Activation.Device != res.Device {
		t.Fatalf("on the device: %v", err)
	}
	_, err = verifier.VerifyActivation(tok, act, syntheticMachine(2).Digest(product), opts)
	var de *verifier.DeviceError
	if !errors.Is(err, verifier.ErrDevice) || !errors.As(err, &de) || !strings.Contains(err.Error(), "board-serial") {
		t.Fatalf("on another machine: %v", err)
	}
	other := mintFor(t, k, "Initech", 5, license.Subscription, 0)
	if _, err := verifier.VerifyActivation(other, act, m.Digest(product), opts); !errors.Is(err, verifier.ErrActivationMismatch) {
		t.Fatalf("activation with another license: %v", err)
	}
	if _, err := verifier.VerifyActivation(tok, tok, m.Digest(product), opts); !errors.Is(err, license.ErrWrongType) {
		t.Fatalf("license given as activation: %v", err)
	}
	opts.Now = ledgerNow.AddDate(2, 0, 0)
	if _, err := verifier.VerifyActivation(tok, act, m.Digest(product), opts); !errors.Is(err, verifier.ErrExpired) {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestDecommissionRecommissionSuspend(t *testing.T) {
	l, _ := newLedger(t)
	l.RecommissionLimit = 2
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	noMigrations(t, l, k, tok)
	m := syntheticMachine(1)
	res, err := l.Activate(k, requestFor(t, tok, m, "m1", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "m2", false)); !errors.Is(err, ErrSeatsExhausted) {
		t.Fatalf("second machine on one seat: %v", err)
	}
	for i := 1; i <= 2; i++ {
		if err := l.Decommission(res.Device); err != nil {
			t.Fatal(err)
		}
		if n := seatsUsed(t, l, tok); n != 0 {
			t.Fatalf("decommission did not free the seat: %d", n)
		}
		if err := l.Decommission(res.Device); !errors.Is(err, ErrNotActive) {
			t.Fatalf("double decommission: %v", err)
		}
		r, err := l.Activate(k, requestFor(t, tok, m, "m1", false))
		if err != nil || r.Outcome != Recommissioned || r.Device != res.Device {
			t.Fatalf("recommission %d: %v %+v", i, err, r)
		}
		if n := seatsUsed(t, l, tok); n != 1 {
			t.Fatalf("recommissioned device should take the seat: %d", n)
		}
	}
	var devs []Device
	l.EachDevice(Filter{}, func(d *Device) error { devs = append(devs, *d); return nil })
	if len(devs) != 1 || devs[0].Status != "recommissioned" {
		t.Fatalf("devices: %+v", devs)
	}
	l.Decommission(res.Device)
	if _, err := l.Activate(k, requestFor(t, tok, m, "m1", false)); !errors.Is(err, ErrSuspended) {
		t.Fatalf("third recommission past a limit of 2: %v", err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(3), "m3", false)); !errors.Is(err, ErrSuspended) {
		t.Fatalf("suspended customer activated a new machine: %v", err)
	}
	if err := l.Unsuspend("Globex"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, m, "m1", false)); err != nil {
		t.Fatalf("after the suspension was lifted: %v", err)
	}
	if err := l.Unsuspend("Nobody"); !errors.Is(err, ErrUnknownCustomer) {
		t.Fatalf("unknown customer: %v", err)
	}
}

func TestPerDeployment(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 2, license.PerDeployment, 0)
	r1, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "d1", false))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Decommission(r1.Device); !errors.Is(err, ErrPerDeployment) {
		t.Fatalf("per-deployment decommission: %v", err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "d2", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(3), "d3", false)); !errors.Is(err, ErrSeatsExhausted) {
		t.Fatalf("third deployment of two: %v", err)
	}
}

func TestOverage(t *testing.T) {
	k := testIssuerKey(t)
	for _, allow := range []bool{false, true} {
		l, _ := newLedger(t)
		tok := mintFor(t, k, "Globex", 10, license.Subscription, 0)
		if err := l.RecordLicense(k, tok, LicensePolicy{OverageAllowed: allow, OveragePriceCents: 7500, Contact: "it@globex.example", MigrationGrace: -1}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(i), fmt.Sprint("m", i), false)); err != nil {
				t.Fatal(err)
			}
		}
		r, err := l.Activate(k, requestFor(t, tok, syntheticMachine(10), "m10", false))
		sums, _ := l.Summaries(Filter{})
		if !allow {
			if !errors.Is(err, ErrSeatsExhausted) || sums[0].Used != 10 {
				t.Fatalf("deny: %v %+v", err, sums)
			}
		} else {
			if err != nil || !r.Overage || sums[0].Overage != 1 || sums[0].AmountCents != 7500 || sums[0].Used != 11 {
				t.Fatalf("allow: %v %+v %+v", err, r, sums)
			}
		}
		notes, _ := l.Notifications(false)
		var kinds []string
		for _, n := range notes {
			kinds = append(kinds, n.Kind)
			if n.Recipient != "it@globex.example" {
				t.Errorf("notification to %q", n.Recipient)
			}
		}
		want := "usage-threshold,usage-full"
		if allow {
			want += ",overage"
		}
		if strings.Join(kinds, ",") != want {
			t.Errorf("allow=%v notifications %v, want %s", allow, kinds, want)
		}
	}
}

func TestFailoverAndReplay(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 1)
	req := requestFor(t, tok, syntheticMachine(1), "primary", false)
	r1, err := l.Activate(k, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.Activate(k, req)
	if err != nil || again.Outcome != Replayed || again.Activation != r1.Activation || !bytes.Equal(again.Token, r1.Token) {
		t.Fatalf("replay: %v %+v", err, again)
	}
	fo, err := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "standby", true))
	if err != nil || !fo.Failover || fo.Overage {
		t.Fatalf("failover: %v %+v", err, fo)
	}
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(3), "standby2", true)); !errors.Is(err, ErrFailoverExhausted) {
		t.Fatalf("second failover of one: %v", err)
	}
	if n := seatsUsed(t, l, tok); n != 1 {
		t.Fatalf("failover took a seat: %d", n)
	}
}

// ledgerCounts is a snapshot of every table's size.
func ledgerCounts(t testing.TB, l *Ledger) string {
	var out []string
	for _, tbl := range []string{"customers", "licenses", "devices", "device_digests", "activations", "events", "notifications"} {
		var n int
		if err := l.db.QueryRow(`SELECT COUNT(*) FROM ` + tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s=%d", tbl, n))
	}
	return strings.Join(out, " ")
}

func TestBadRequestsChangeNothing(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 5, license.Subscription, 0)
	if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(1), "m1", false)); err != nil {
		t.Fatal(err)
	}
	before := ledgerCounts(t, l)
	good := requestFor(t, tok, syntheticMachine(2), "m2", false)
	rogue, _ := GenerateKey()
	forged := mintFor(t, rogue, "Globex", 500, license.Subscription, 0)
	wrongScope, _ := activation.NewRequest(tok, syntheticMachine(3).Digest("otherproduct"), "m3", false)
	wrongScopeB, _ := wrongScope.Armor()
	expired := license.Claims{Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: 5, Kind: license.Subscription,
		IssuedAt: ledgerNow.AddDate(-2, 0, 0), Expires: ledgerNow.AddDate(-1, 0, 0)}
	expiredTok, _ := k.Mint(expired)
	bare := &fingerprint.Profile{}
	bare.Set(fingerprint.CPU, "GenuineIntel|Xeon")
	bare.Set(fingerprint.Hostname, "container-7")
	for name, req := range map[string][]byte{
		"no hardware identity (a bare container)": requestFor(t, tok, bare, "c7", false),
		"truncated":                       good[:len(good)/2],
		"oversized":                       bytes.Repeat([]byte{0xa0}, activation.MaxRequestSize+1),
		"a license, not a request":        license.Armor(license.TypeLicense, tok),
		"license forged with another key": requestFor(t, forged, syntheticMachine(4), "m4", false),
		"fingerprint for another product": wrongScopeB,
		"expired license":                 requestFor(t, expiredTok, syntheticMachine(5), "m5", false),
		"empty":                           nil,
	} {
		if _, err := l.Activate(k, req); err == nil || !errors.Is(err, ErrRequestRefused) {
			t.Errorf("%s: got %v, want ErrRequestRefused", name, err)
		}
		if after := ledgerCounts(t, l); after != before {
			t.Errorf("%s changed the ledger:\n%s\n%s", name, before, after)
		}
	}
}

// raceActivations sends every request at once, request i to
// ledgers[i%len(ledgers)] (one ledger, or several instances of one), and
// returns each one's result and error.
func raceActivations(k *Key, reqs [][]byte, ledgers ...*Ledger) ([]*Result, []error) {
	results, errs := make([]*Result, len(reqs)), make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		l := ledgers[i%len(ledgers)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = l.Activate(k, req)
		}()
	}
	wg.Wait()
	return results, errs
}

// tally counts the activations granted, those refused for want of a seat,
// and the other errors.
func tally(errs []error) (granted, full int, other []error) {
	for _, err := range errs {
		switch {
		case err == nil:
			granted++
		case errors.Is(err, ErrSeatsExhausted):
			full++
		default:
			other = append(other, err)
		}
	}
	return granted, full, other
}

// Many activations at once on a license without overage never exceed its seats.
func TestConcurrentActivations(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 7, license.Subscription, 0)
	var reqs [][]byte
	for i := 0; i < 24; i++ {
		reqs = append(reqs, requestFor(t, tok, syntheticMachine(100+i), fmt.Sprint("m", i), false))
	}
	_, errs := raceActivations(k, reqs, l)
	ok, full, other := tally(errs)
	if len(other) > 0 {
		t.Errorf("unexpected: %v", other)
	}
	// Seven seats and one server migration (SPEC 10.4 rule 11), never more.
	if ok != 8 || full != 16 || seatsUsed(t, l, tok) != 7 || migrating(t, l) != 1 {
		t.Fatalf("ok %d, refused %d, used %d, migrating %d", ok, full, seatsUsed(t, l, tok), migrating(t, l))
	}
}

func TestReportCSV(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	l.RecordLicense(k, tok, LicensePolicy{OverageAllowed: true, OveragePriceCents: DefaultOveragePriceCents})
	l.Activate(k, requestFor(t, tok, syntheticMachine(1), "web, 1", false))
	r2, _ := l.Activate(k, requestFor(t, tok, syntheticMachine(2), "web-2", false))
	var devs, sums bytes.Buffer
	if err := l.WriteDeviceCSV(&devs, Filter{Customer: "Globex"}); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteSummaryCSV(&sums, Filter{Customer: "Globex"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{strings.Join(DeviceHeader, ","), `"web, 1"`, r2.Device.String() + ",web-2,active,false", ",true,50.00\n"} {
		if !strings.Contains(devs.String(), want) {
			t.Errorf("device CSV lacks %q:\n%s", want, devs.String())
		}
	}
	if want := strings.Join(SummaryHeader, ",") + "\n"; !strings.HasPrefix(sums.String(), want) || !strings.HasSuffix(sums.String(), ",1,2,1,50.00\n") {
		t.Errorf("summary CSV:\n%s", sums.String())
	}
	devs.Reset()
	if err := l.WriteDeviceCSV(&devs, Filter{Customer: "Nobody"}); err != nil || strings.Count(devs.String(), "\n") != 1 {
		t.Fatalf("empty filter: %v %q", err, devs.String())
	}
}

func TestSchemaVersionGuard(t *testing.T) {
	l, path := newLedger(t)
	l.db.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)`)
	l.Close()
	if _, err := OpenLedger(path); !errors.Is(err, ErrLedgerSchema) {
		t.Fatalf("newer schema: %v", err)
	}
}

// syntheticMachine is a distinct machine n with full identity.
func syntheticMachine(n int) *fingerprint.Profile { return testhw.Machine(n) }

// copyTree copies a fixture tree so a test can change files in it.
func copyTree(t testing.TB, src string) string { return testhw.CopyTree(t, src) }
