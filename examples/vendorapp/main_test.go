package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

const fixtures = "../../machine/testdata/hw/"

// vendorSide is what the vendor holds in these tests: a fresh key (never
// the published test key), the license it minted, and the machine it activated.
type vendorSide struct {
	t   *testing.T
	key *issuer.Key
	id  license.ID
	cfg config
}

func newVendor(t *testing.T) *vendorSide {
	k, err := issuer.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	v := &vendorSide{t: t, key: k, id: license.NewID(), cfg: config{
		vendorKey: k.Public().Armor(), dir: dir, state: filepath.Join(dir, "state", "seatkey.state"),
		hw: machine.Options{Root: fixtures + "server", TPM: "none"},
	}}
	now := time.Now().UTC().Truncate(time.Second)
	tok, err := k.Mint(license.Claims{ID: v.id, Vendor: vendor, Customer: "Globex Corp", Product: product, IssuedAt: now.Add(-time.Hour),
		Edition: "enterprise", Features: []string{"reports"}, Seats: 1, Kind: license.Perpetual, UpgradesUntil: now.AddDate(1, 0, 0), Major: 4})
	if err != nil {
		t.Fatal(err)
	}
	v.write(licenseFile, license.Armor(license.TypeLicense, tok))
	v.activate(fixtures + "server")
	return v
}

func (v *vendorSide) write(name string, data []byte) {
	if err := os.WriteFile(filepath.Join(v.cfg.dir, name), data, 0o644); err != nil {
		v.t.Fatal(err)
	}
}

func (v *vendorSide) activate(root string) {
	p, err := machine.Collect(machine.Options{Root: root, TPM: "none"})
	if err != nil {
		v.t.Fatal(err)
	}
	c := activation.Claims{ID: activation.NewID(), License: v.id, Device: activation.NewDeviceID(), IssuedAt: time.Now().Add(-time.Hour), Fingerprint: p.Digest(product).Hardware()}
	payload, _ := c.Marshal()
	tok, err := v.key.Sign(license.TypeActivation, payload)
	if err != nil {
		v.t.Fatal(err)
	}
	v.write(activationFile, license.Armor(license.TypeActivation, tok))
}

func (v *vendorSide) publish(seq uint64, revoked bool) {
	now := time.Now().Add(-time.Minute)
	var lics []license.Entry
	if revoked {
		lics = []license.Entry{{ID: v.id[:], At: now, Reason: license.ReasonRefunded}}
	}
	rl, err := license.NewRevocations(vendor, seq, now, now.Add(30*24*time.Hour), lics, nil, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	p, _ := rl.Marshal()
	tok, _ := v.key.Sign(license.TypeRevocation, p)
	v.write(listFile, license.Armor(license.TypeRevocation, tok))
}

func (v *vendorSide) start() (string, error) {
	var out bytes.Buffer
	err := start(&out, &out, v.cfg)
	return out.String(), err
}

func TestStartsActivated(t *testing.T) {
	v := newVendor(t)
	v.publish(1, false)
	out, err := v.start()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "enterprise edition, licensed to Globex Corp") || !strings.Contains(out, "reports module enabled") {
		t.Fatalf("output: %s", out)
	}
	if _, err := os.Stat(v.cfg.state); err != nil {
		t.Fatalf("no state file kept: %v", err)
	}
}

// The customer edits the license body (the customer name inside the signed
// payload), not its armor lines: the signature check is what refuses it.
func TestTamperedLicenseBody(t *testing.T) {
	v := newVendor(t)
	b, _ := os.ReadFile(filepath.Join(v.cfg.dir, licenseFile))
	raw, err := license.Decode(license.TypeLicense, b)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, []byte("Globex Corp"))
	if i < 0 {
		t.Fatal("customer name not in the token")
	}
	copy(raw[i:], "Globex Inc.")
	v.write(licenseFile, license.Armor(license.TypeLicense, raw))
	if _, err := v.start(); !errors.Is(err, verifier.ErrSignature) {
		t.Fatalf("edited body: %v", err)
	}
	// And the text itself: one base64 character of the body changed.
	lines := strings.Split(string(b), "\n")
	body := []byte(lines[1])
	if body[10] == 'A' {
		body[10] = 'B'
	} else {
		body[10] = 'A'
	}
	lines[1] = string(body)
	v.write(licenseFile, []byte(strings.Join(lines, "\n")))
	if _, err := v.start(); err == nil {
		t.Fatal("started with an edited base64 body")
	}
}

func TestRefusesToStart(t *testing.T) {
	v := newVendor(t)
	// Another machine with this machine's activation.
	v.cfg.hw.Root = fixtures + "laptop"
	if _, err := v.start(); !errors.Is(err, verifier.ErrDevice) {
		t.Fatalf("another machine: %v", err)
	}
	v.cfg.hw.Root = fixtures + "server"
	// A license the vendor revoked; the older list afterwards; then no list.
	v.publish(2, true)
	if _, err := v.start(); !errors.Is(err, verifier.ErrRevoked) {
		t.Fatalf("revoked: %v", err)
	}
	v.publish(1, false)
	if _, err := v.start(); !errors.Is(err, verifier.ErrRevocationRollback) {
		t.Fatalf("older list after the revoking one: %v", err)
	}
	os.Remove(filepath.Join(v.cfg.dir, listFile))
	if _, err := v.start(); !errors.Is(err, verifier.ErrRevocationListRequired) {
		t.Fatalf("list deleted: %v", err)
	}
	// A key that is not the vendor's.
	rogue := newVendor(t)
	v.cfg.vendorKey = rogue.cfg.vendorKey
	if _, err := v.start(); !errors.Is(err, verifier.ErrUnknownKey) {
		t.Fatalf("another vendor's key: %v", err)
	}
	// No files at all.
	v.cfg.dir = t.TempDir()
	if _, err := v.start(); err == nil {
		t.Fatal("started without a license")
	}
}

// The program offers no way to change the time, the key or the hardware read.
func TestNoOverrideFlags(t *testing.T) {
	fs, _ := newFlags()
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "dir" {
			t.Errorf("flag -%s: the only flag is -dir", f.Name)
		}
	})
	for _, name := range []string{"at", "now", "time", "pub", "key", "root", "tpm", "state"} {
		if fs.Lookup(name) != nil {
			t.Errorf("flag -%s lets the customer override a check", name)
		}
	}
}

// The repository never carries a vendor key for vendorapp, and never the
// published test key.
func TestNoPublishedKeyEmbedded(t *testing.T) {
	test, _ := os.ReadFile("../../testdata/vectors/test.pub")
	if b, err := keysDir.ReadFile("keys/vendor.pub"); err == nil && bytes.Equal(bytes.TrimSpace(b), bytes.TrimSpace(test)) {
		t.Fatal("vendorapp embeds the SPEC test key, whose seed is published")
	}
}
