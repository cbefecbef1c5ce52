// Command vendorapp is what a vendor copies into its own application. It
// refuses to start unless this machine holds a license for this product and
// version, activated for this very machine, not revoked, with a state file
// that catches a clock set back and a revocation list rolled back:
//
//   - the vendor's public key is embedded at build time (keys/vendor.pub);
//   - the license, the activation and the revocation list are files in the
//     per-user configuration directory (or -dir);
//   - the state file is at verifier.DefaultStatePath;
//   - there is no flag to change the time, the key or the hardware read.
//
// Try it from the repository root:
//
//	go run ./examples/vendorapp/setup   # a fresh vendor key and demo files for this machine
//	go run ./examples/vendorapp
package main

//go:generate go run ./setup -keys keys

import (
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

//go:embed keys
var keysDir embed.FS

// The vendor, the running product, its version and that version's release date.
const (
	vendor  = "Acme Software"
	product = "ledgerpro"
	version = "4.2.0"
)

var releaseDate = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// The files the application reads from its directory.
const (
	licenseFile    = "license.lic"
	activationFile = "activation.act"
	listFile       = "revocation.crl"
)

// newFlags is the whole command line: where the files are, nothing more.
func newFlags() (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("ledgerpro", flag.ExitOnError)
	dir := fs.String("dir", "", "directory holding "+licenseFile+", "+activationFile+" and "+listFile+" (default: the per-user configuration directory)")
	return fs, dir
}

func main() {
	fs, dir := newFlags()
	fs.Parse(os.Args[1:])
	cfg, err := defaultConfig(*dir)
	if err == nil {
		err = start(os.Stdout, os.Stderr, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ledgerpro: cannot start:", err)
		os.Exit(1)
	}
}

// config is what start verifies against. Only tests set hw (to read a
// fixture tree); the program always reads this machine.
type config struct {
	vendorKey []byte
	dir       string // license, activation and revocation list
	state     string
	hw        machine.Options
}

func defaultConfig(dir string) (config, error) {
	key, err := keysDir.ReadFile("keys/vendor.pub")
	if err != nil {
		return config{}, errors.New("this build has no vendor key: run `go run ./examples/vendorapp/setup` and build again")
	}
	state, err := verifier.DefaultStatePath(vendor, product)
	if err != nil {
		return config{}, err
	}
	if dir == "" {
		dir = filepath.Dir(state)
	}
	return config{vendorKey: key, dir: dir, state: state}, nil
}

// start verifies the license, its activation on this machine and the
// revocation list, and only if all hold runs the application.
func start(w, warn io.Writer, c config) error {
	keys, err := verifier.ParseKeyring(c.vendorKey)
	if err != nil {
		return fmt.Errorf("embedded vendor key: %w", err)
	}
	lic, err := os.ReadFile(filepath.Join(c.dir, licenseFile))
	if err != nil {
		return fmt.Errorf("no license: %w", err)
	}
	act, err := os.ReadFile(filepath.Join(c.dir, activationFile))
	if err != nil {
		return fmt.Errorf("this machine is not activated: %w", err)
	}
	var list *verifier.RevocationList
	switch b, err := os.ReadFile(filepath.Join(c.dir, listFile)); {
	case err == nil:
		if list, err = verifier.ParseRevocationList(b, keys); err != nil {
			return fmt.Errorf("revocation list refused: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	hw, err := machine.Collect(c.hw)
	if err != nil {
		return err
	}
	a, err := verifier.VerifyActivation(lic, act, hw.Digest(product), verifier.Options{
		Keys:        keys,
		Product:     product,
		Version:     version,
		ReleaseDate: releaseDate,
		State:       c.state,
		Revocations: list,
		// Once this machine has seen a list, it needs one every time:
		// deleting the list does not bring a revoked license back.
		RequireRevocationList: true,
	})
	if err != nil {
		return err
	}
	for _, s := range a.Warnings {
		fmt.Fprintln(warn, "ledgerpro: warning:", s)
	}
	fmt.Fprintf(w, "ledgerpro %s, %s edition, licensed to %s, device %s\n", version, a.Edition, a.Customer, a.Activation.Device)
	fmt.Fprintf(w, "features: %s\n", strings.Join(a.Features, ", "))
	if a.Has("reports") {
		fmt.Fprintln(w, "reports module enabled")
	}
	return nil
}
