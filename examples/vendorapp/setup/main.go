// Command setup prepares examples/vendorapp on this machine, as a vendor
// would for a customer, with a vendor key of its own: it generates a fresh
// Ed25519 key pair, writes the public key where vendorapp embeds it, and
// signs, for this machine, a license that never expires, an activation and a
// revocation list. The private key is then forgotten: nothing secret is
// written, and running setup again makes a new key (rebuild vendorapp).
//
// From the repository root:
//
//	go run ./examples/vendorapp/setup
//	go run ./examples/vendorapp
//
// A real vendor keeps its key (seatkey keygen), records licenses and
// activations in its ledger (seatkey mint, seatkey activate) and publishes
// lists (seatkey crl); setup does the same signing in a few lines.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

const (
	vendor  = "Acme Software"
	product = "ledgerpro"
)

func main() {
	keys := flag.String("keys", filepath.Join("examples", "vendorapp", "keys"), "`DIR` where vendorapp embeds vendor.pub from")
	dir := flag.String("dir", "", "`DIR` for license.lic, activation.act and revocation.crl (default: vendorapp's per-user configuration directory)")
	root := flag.String("root", "", "read hardware from this fixture `DIR` instead of this machine")
	flag.Parse()
	if *dir == "" {
		state, err := verifier.DefaultStatePath(vendor, product)
		if err != nil {
			fail(err)
		}
		*dir = filepath.Dir(state)
	}
	if err := setup(*keys, *dir, machine.Options{Root: *root}); err != nil {
		fail(err)
	}
	fmt.Printf("wrote %s, and %s, %s, %s in %s\n", filepath.Join(*keys, "vendor.pub"), "license.lic", "activation.act", "revocation.crl", *dir)
	fmt.Println("now: go run ./examples/vendorapp")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "setup:", err)
	os.Exit(1)
}

func setup(keysDir, dir string, hw machine.Options) error {
	if st, err := os.Stat(keysDir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not vendorapp's keys directory (run from the repository root, or pass -keys)", keysDir)
	}
	p, err := machine.Collect(hw)
	if err != nil {
		return err
	}
	fp := p.Digest(product).Hardware()
	if r := fingerprint.Match(fp, fp, &fingerprint.DefaultPolicy); !r.Same {
		return fmt.Errorf("this machine shows too little hardware identity to be activated: %s", r.Reason())
	}
	k, err := issuer.GenerateKey()
	if err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Second)
	// Perpetual with upgrade protection, never expiring: the documented
	// command keeps working.
	id := license.NewID()
	tok, err := k.Mint(license.Claims{
		ID: id, Vendor: vendor, Customer: "Globex Corp", Product: product, IssuedAt: now,
		Edition: "enterprise", Features: []string{"api", "reports", "sso"}, Seats: 5,
		Kind: license.Perpetual, UpgradesUntil: now.AddDate(1, 0, 0), Major: 4,
	})
	if err != nil {
		return err
	}
	claims := activation.Claims{ID: activation.NewID(), License: id, Device: activation.NewDeviceID(), IssuedAt: now, Fingerprint: fp}
	payload, err := claims.Marshal()
	if err != nil {
		return err
	}
	act, err := k.Sign(license.TypeActivation, payload)
	if err != nil {
		return err
	}
	rl, err := license.NewRevocations(vendor, 1, now, now.AddDate(1, 0, 0), nil, nil, nil)
	if err != nil {
		return err
	}
	if payload, err = rl.Marshal(); err != nil {
		return err
	}
	list, err := k.Sign(license.TypeRevocation, payload)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		filepath.Join(keysDir, "vendor.pub"): k.Public().Armor(),
		filepath.Join(dir, "license.lic"):    license.Armor(license.TypeLicense, tok),
		filepath.Join(dir, "activation.act"): license.Armor(license.TypeActivation, act),
		filepath.Join(dir, "revocation.crl"): license.Armor(license.TypeRevocation, list),
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
