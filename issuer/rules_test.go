package issuer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// The rules of SPEC 10.4 that honest customers meet.

// Only one live activation per device: activating again supersedes the
// earlier activation, whose request is then spent.
func TestReactivationSupersedes(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	m := syntheticMachine(1)
	first := requestFor(t, tok, m, "m1", false)
	r1, err := l.Activate(k, first)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := l.Activate(k, requestFor(t, tok, m, "m1 again", false))
	if err != nil || r2.Outcome != SameDevice || r2.Activation == r1.Activation {
		t.Fatalf("again: %v %+v", err, r2)
	}
	list, _, _ := l.PublishRevocationList(k, "Acme", time.Hour)
	if err := verifyOn(k, tok, r1.Token, m, list); !errors.Is(err, verifier.ErrRevoked) {
		t.Fatalf("the superseded activation still verifies: %v", err)
	}
	if err := verifyOn(k, tok, r2.Token, m, list); err != nil {
		t.Fatalf("the new activation: %v", err)
	}
	if _, err := l.Activate(k, first); !errors.Is(err, ErrRequestRefused) || !strings.Contains(err.Error(), "superseded") {
		t.Fatalf("replaying the spent request: %v", err)
	}
	if n := countRows(t, l, `SELECT COUNT(*) FROM device_fingerprints WHERE device_id = ?`, r1.Device[:]); n != 1 {
		t.Fatalf("an unchanged fingerprint made %d revisions", n)
	}
}

// Rotating keys (and vendor names) never restarts the list sequence.
func TestRevocationSequenceIsGlobal(t *testing.T) {
	l, _ := newLedger(t)
	k1 := testIssuerKey(t)
	k2, _ := NewKeyFromSeed(make([]byte, 32))
	var last uint64
	for i, s := range []struct {
		k      *Key
		vendor string
	}{{k1, "Acme"}, {k2, "k2"}, {k1, "Acme Software"}, {k2, "Acme"}} {
		_, list, err := l.PublishRevocationList(s.k, s.vendor, time.Hour)
		if err != nil || list.Sequence != last+1 {
			t.Fatalf("list %d: %v sequence %d after %d", i, err, list.Sequence, last)
		}
		last = list.Sequence
	}
}

// Honest changes are still the same device, cost no seat, and the new
// activation verifies on the changed machine.
func TestHonestChangesStaySameDevice(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	first, err := l.Activate(k, requestFor(t, tok, treeProfile(t, serverTree), "db", false))
	if err != nil {
		t.Fatal(err)
	}
	tree := copyTree(t, serverTree)
	steps := []struct {
		name string
		edit func()
	}{
		{"re-imaged", func() { write(t, tree, "etc/machine-id", "0123456789abcdef0123456789abcdef") }},
		{"renamed", func() {
			write(t, tree, "proc/sys/kernel/hostname", "db-renamed")
			write(t, tree, "etc/hostname", "db-renamed")
		}},
		{"more RAM", func() { write(t, tree, "proc/meminfo", "MemTotal:       268173312 kB\nMemFree:        1000 kB") }},
		{"a disk replaced", func() {
			p := filepath.Join(tree, "run/udev/data/b8:16")
			u, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.ReplaceAll(strings.ReplaceAll(string(u), "4090a1c7", "40ffee01"), "R312466", "R999001")), 0o644)
		}},
		{"a NIC replaced", func() {
			write(t, tree, "sys/devices/pci0000:00/0000:04:00.1/net/eno2/address", "b0:7b:25:d4:3e:99")
		}},
	}
	for _, s := range steps {
		s.edit()
		m := treeProfile(t, tree)
		r, err := l.Activate(k, requestFor(t, tok, m, "db", false))
		if err != nil || r.Outcome != SameDevice || r.Device != first.Device {
			t.Fatalf("%s: %v %+v", s.name, err, r)
		}
		list, _, _ := l.PublishRevocationList(k, "Acme", time.Hour)
		if err := verifyOn(k, tok, r.Token, m, list); err != nil {
			t.Fatalf("%s: the new activation on the machine: %v", s.name, err)
		}
		if u := summary(t, l, tok).Used; u != 1 {
			t.Fatalf("%s: %d seats used", s.name, u)
		}
	}
	if n := countRows(t, l, `SELECT COUNT(*) FROM device_fingerprints WHERE device_id = ?`, first.Device[:]); n != 1+len(steps) {
		t.Fatalf("%d fingerprint revisions, want %d", n, 1+len(steps))
	}
}

// A license's fingerprint policy is stored at minting and applied: here the
// root-only components are optional, so the same machine read without root
// is the same device, keeps its serials in the ledger, and verifies.
func TestLicensePolicyOptional(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1, license.Subscription, 0)
	pol := fingerprint.DefaultPolicy
	pol.Optional = 1<<fingerprint.BoardSerial | 1<<fingerprint.SystemUUID | 1<<fingerprint.SystemSerial
	if err := l.RecordLicense(k, tok, LicensePolicy{Match: &pol}); err != nil {
		t.Fatal(err)
	}
	id := licID(t, tok)
	if n := countRows(t, l, `SELECT COUNT(*) FROM licenses WHERE id = ? AND policy IS NOT NULL`, id[:]); n != 1 {
		t.Fatal("policy not stored")
	}
	root := syntheticMachine(1)
	first, err := l.Activate(k, requestFor(t, tok, root, "m", false))
	if err != nil {
		t.Fatal(err)
	}
	user := only(root, fingerprint.CPU, fingerprint.BoardModel, fingerprint.Memory, fingerprint.Disks, fingerprint.NICs)
	r, err := l.Activate(k, requestFor(t, tok, user, "m", false))
	if err != nil || r.Outcome != SameDevice || r.Device != first.Device {
		t.Fatalf("without root: %v %+v", err, r)
	}
	if err := verifyOn(k, tok, r.Token, user, nil); err != nil {
		t.Fatalf("the activation without root: %v", err)
	}
	// The serials stay in what the device is enrolled with.
	if err := verifyOn(k, tok, r.Token, syntheticMachine(2), nil); !errors.Is(err, verifier.ErrDevice) || !strings.Contains(err.Error(), "board-serial") {
		t.Fatalf("another machine: %v", err)
	}
	// Under the default policy the same request is refused.
	tok2 := mintFor(t, k, "Globex", 1, license.Perpetual, 0)
	if _, err := l.Activate(k, requestFor(t, tok2, root, "m", false)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Activate(k, requestFor(t, tok2, user, "m", false)); !errors.Is(err, ErrRequestRefused) {
		t.Fatalf("default policy without root: %v", err)
	}
}
