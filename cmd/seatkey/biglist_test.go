package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// A revocation list of 1,000,000 licenses (about 21 MB binary, 28 MB
// armored) goes through the CLI as SPEC allows (up to 64 MiB): inspect reads
// it, and verify applies it, refusing a license it revokes and accepting
// one it does not.
func TestMillionEntryListThroughCLI(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	if r := runCLI(t, nil, "keygen", "--unencrypted", "-o", p("v")); r.code != 0 {
		t.Fatal(r)
	}
	k, err := issuer.LoadKey(p("v.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	mint := func(name string, id license.ID) {
		tok, err := k.Mint(license.Claims{ID: id, Vendor: "v", Customer: "Globex", Product: "ledgerpro", Edition: "pro", Seats: 1,
			Kind: license.Subscription, IssuedAt: now.Add(-time.Hour), Expires: now.AddDate(1, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p(name), license.Armor(license.TypeLicense, tok), 0o644)
	}
	const n = 1_000_000
	entries := make([]license.Entry, n)
	ids := make([]byte, 16*n)
	for i := range entries {
		id := ids[16*i : 16*i+16]
		binary.BigEndian.PutUint64(id[8:], uint64(i+1)) // sorted and unique
		entries[i] = license.Entry{ID: id, At: now.Add(-time.Minute), Reason: license.ReasonRefunded}
	}
	var revoked, kept license.ID
	copy(revoked[:], entries[n/2].ID)
	binary.BigEndian.PutUint64(kept[8:], n+7)
	mint("revoked.lic", revoked)
	mint("kept.lic", kept)
	list, err := license.NewRevocations("v", 1, now, now.AddDate(0, 0, 90), entries, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := list.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Sign(license.TypeRevocation, payload)
	if err != nil {
		t.Fatal(err)
	}
	armored := license.Armor(license.TypeRevocation, tok)
	if len(armored) < 25<<20 {
		t.Fatalf("the armored list is %d bytes: not the size this test is about", len(armored))
	}
	os.WriteFile(p("big.crl"), armored, 0o644)
	if r := runCLI(t, nil, "inspect", p("big.crl")); r.code != 0 || !strings.Contains(r.stdout, "1000000") {
		t.Fatalf("inspect: %+v", r.code)
	}
	verify := func(lic string) result {
		return runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledgerpro", "--crl", p("big.crl"), p(lic))
	}
	if r := verify("revoked.lic"); r.code != 1 || !strings.Contains(r.stderr, "revoked") {
		t.Fatalf("revoked license: %d %s", r.code, r.stderr)
	}
	if r := verify("kept.lic"); r.code != 0 {
		t.Fatalf("license not on the list: %d %s", r.code, r.stderr)
	}
}
