// Command vendorapp is what a vendor copies into its own application: the
// public key is embedded at build time, and the program refuses to start
// without a valid license for this product and version.
//
// The embedded vendor.pub is the test-vector key of SPEC.md, whose private
// seed is public: replace it with your own (seatkey keygen -o vendor).
//
//	go run ./examples/vendorapp --license testdata/vectors/typical.lic
package main

import (
	_ "embed"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seatkey/seatkey/verifier"
)

//go:embed vendor.pub
var vendorKey []byte

// The running product, its version and that version's release date.
const (
	product = "ledgerpro"
	version = "4.2.0"
)

var releaseDate = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func main() {
	licPath := flag.String("license", defaultLicensePath(), "license file")
	at := flag.String("at", "", "pretend the time is this RFC 3339 time (for trying the example)")
	flag.Parse()
	now := time.Now()
	if *at != "" {
		var err error
		if now, err = time.Parse(time.RFC3339, *at); err != nil {
			fmt.Fprintln(os.Stderr, "vendorapp:", err)
			os.Exit(2)
		}
	}
	if err := start(os.Stdout, *licPath, now); err != nil {
		fmt.Fprintln(os.Stderr, "vendorapp: cannot start:", err)
		os.Exit(1)
	}
}

func defaultLicensePath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "ledgerpro.lic"
	}
	return filepath.Join(dir, "ledgerpro", "license.lic")
}

// start verifies the license and, only if it is valid, runs the application.
func start(w io.Writer, licPath string, now time.Time) error {
	keys, err := verifier.ParseKeyring(vendorKey)
	if err != nil {
		return fmt.Errorf("embedded vendor key: %w", err)
	}
	tok, err := os.ReadFile(licPath)
	if err != nil {
		return fmt.Errorf("no license: %w", err)
	}
	lic, err := verifier.Verify(tok, verifier.Options{
		Keys:        keys,
		Product:     product,
		Version:     version,
		ReleaseDate: releaseDate,
		Now:         now,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ledgerpro %s, %s edition, licensed to %s\n", version, lic.Edition, lic.Customer)
	fmt.Fprintf(w, "features: %s\n", strings.Join(lic.Features, ", "))
	if lic.Has("reports") {
		fmt.Fprintln(w, "reports module enabled")
	}
	return nil
}
