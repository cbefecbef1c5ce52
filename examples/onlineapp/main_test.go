package main

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/client"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/server"
)

const fixture = "../../machine/testdata/hw/server"

func TestOnlineFirstStartThenOffline(t *testing.T) {
	dir := t.TempDir()
	key, _ := issuer.GenerateKey()
	l, err := issuer.CreateLedger(filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lic, _ := key.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: 1,
		Kind: license.Subscription, IssuedAt: time.Now().Add(-time.Hour), Expires: time.Now().AddDate(1, 0, 0)})
	l.RecordLicense(key, lic, issuer.LicensePolicy{})
	licPath := filepath.Join(dir, "globex.lic")
	os.WriteFile(licPath, license.Armor(license.TypeLicense, lic), 0o644)
	srv, _ := server.New(server.Config{Ledger: l, Key: key})
	ts := httptest.NewServer(srv)
	c := config{Server: ts.URL, License: licPath, Pub: key.Public().Armor(), Root: fixture, TPM: "none", CheckIn: true}

	var out bytes.Buffer
	if err := start(context.Background(), &out, c); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "activated online (new-device)") || !strings.Contains(out.String(), "checked in (1 so far)") {
		t.Fatal(out.String())
	}
	// The server goes away: every later start verifies offline.
	ts.Close()
	c.CheckIn = false
	out.Reset()
	if err := start(context.Background(), &out, c); err != nil || strings.Contains(out.String(), "activated") {
		t.Fatalf("offline start: %v\n%s", err, out.String())
	}
	// Another machine with the copied files does not start.
	c.Root = "../../machine/testdata/hw/laptop"
	if err := start(context.Background(), &out, c); err == nil {
		t.Fatal("started on another machine with a copied activation")
	}
}

func TestUnreachableServerFallsBackToARequestFile(t *testing.T) {
	dir := t.TempDir()
	key, _ := issuer.GenerateKey()
	lic, _ := key.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: 1,
		Kind: license.Subscription, IssuedAt: time.Now().Add(-time.Hour), Expires: time.Now().AddDate(1, 0, 0)})
	licPath := filepath.Join(dir, "globex.lic")
	os.WriteFile(licPath, license.Armor(license.TypeLicense, lic), 0o644)
	ts := httptest.NewServer(nil)
	ts.Close()
	cl := &client.Client{BaseURL: ts.URL, Attempts: 2, Backoff: time.Millisecond}
	c := config{Server: ts.URL, License: licPath, Pub: key.Public().Armor(), Root: fixture, TPM: "none", HTTPClient: cl}
	var out bytes.Buffer
	err := start(context.Background(), &out, c)
	if !errors.Is(err, errOffline) {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if b, err := os.ReadFile(licPath + ".req"); err != nil || !bytes.HasPrefix(b, []byte("-----BEGIN SEATKEY ACTIVATION REQUEST")) {
		t.Fatalf("request file: %v %q", err, b)
	}
}

// TestLeaseRenewedAndSaved: on a leased license, a start that checks in
// saves the renewed activation (verified, written atomically), and the next
// start verifies the renewed one offline.
func TestLeaseRenewedAndSaved(t *testing.T) {
	dir := t.TempDir()
	key, _ := issuer.GenerateKey()
	l, err := issuer.CreateLedger(filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	now := time.Now().UTC().Truncate(time.Second)
	lic, _ := key.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: 1,
		Kind: license.Subscription, IssuedAt: now.Add(-100 * time.Hour), Expires: now.AddDate(1, 0, 0)})
	const lease = 7 * 24 * time.Hour
	if err := l.RecordLicense(key, lic, issuer.LicensePolicy{Lease: lease}); err != nil {
		t.Fatal(err)
	}
	licPath := filepath.Join(dir, "globex.lic")
	os.WriteFile(licPath, license.Armor(license.TypeLicense, lic), 0o644)
	srv, _ := server.New(server.Config{Ledger: l, Key: key})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := config{Server: ts.URL, License: licPath, Pub: key.Public().Armor(), Root: fixture, TPM: "none"}

	// First start three days ago (the ledger's clock): activated for a lease.
	l.Now = func() time.Time { return now.Add(-72 * time.Hour) }
	var out bytes.Buffer
	if err := start(context.Background(), &out, c); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	first := expiresOf(t, licPath+".act")
	if want := now.Add(-72 * time.Hour).Add(lease); !first.Equal(want) {
		t.Fatalf("first activation expires %v, want %v", first, want)
	}
	// Today's start checks in: the renewed activation is saved.
	l.Now = func() time.Time { return now }
	c.CheckIn = true
	out.Reset()
	if err := start(context.Background(), &out, c); err != nil || !strings.Contains(out.String(), "lease renewed until") {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := expiresOf(t, licPath+".act"); !got.Equal(now.Add(lease)) {
		t.Fatalf("saved activation expires %v, want %v", got, now.Add(lease))
	}
	// The next start verifies the renewed file offline.
	ts.Close()
	c.CheckIn = false
	out.Reset()
	if err := start(context.Background(), &out, c); err != nil || !strings.Contains(out.String(), "ledgerpro started") {
		t.Fatalf("offline start with the renewed activation: %v\n%s", err, out.String())
	}
}

func expiresOf(t *testing.T, path string) time.Time {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, _, _, err := activation.Inspect(b)
	if err != nil {
		t.Fatal(err)
	}
	return c.Expires
}
