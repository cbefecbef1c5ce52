// Command onlineapp is a vendor application that activates itself online on
// first start and verifies offline ever after: the pattern for machines that
// can reach the vendor's licensing server (seatkey serve) once, at deployment.
//
//  1. No activation saved: collect this machine's fingerprint, send an
//     activation request to the server, verify the answer with the embedded
//     public key and save it next to the license.
//  2. Every start: verify license and activation offline, against this
//     machine's hardware. No network is involved.
//  3. If the server cannot be reached on first start, write the same request
//     to a file for the offline path (carried to the vendor, 'seatkey
//     activate') and stop.
//
// A check-in (--checkin) runs after the application has started and never
// decides whether it starts.
//
// The embedded vendor.pub is the test-vector key of SPEC.md, whose private
// seed is public: replace it with your own (seatkey keygen -o vendor), or
// pass --pub to try the example against your own server.
//
//	go run ./examples/onlineapp --server http://127.0.0.1:8080 --license globex.lic
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/client"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

//go:embed vendor.pub
var vendorKey []byte

const product = "ledgerpro"

// config is what start needs; flags fill it in main, tests directly.
type config struct {
	Server     string // licensing server URL
	License    string // license file; the activation is saved beside it
	Pub        []byte // vendor public key file contents
	Root       string // hardware tree (tests, trying the example); "": this machine
	TPM        string
	CheckIn    bool
	HTTPClient *client.Client // nil: a default client for Server
}

func main() {
	var c config
	flag.StringVar(&c.Server, "server", "", "licensing server `URL`")
	flag.StringVar(&c.License, "license", "ledgerpro.lic", "license `FILE`; the activation is saved as FILE.act")
	pub := flag.String("pub", "", "vendor public key `FILE` (default: the embedded one)")
	flag.StringVar(&c.Root, "root", "", "read hardware from `DIR` instead of this machine")
	flag.StringVar(&c.TPM, "tpm", "", "TPM device or socket, or none")
	flag.BoolVar(&c.CheckIn, "checkin", false, "check in with the server after starting")
	flag.Parse()
	c.Pub = vendorKey
	if *pub != "" {
		b, err := os.ReadFile(*pub)
		if err != nil {
			fmt.Fprintln(os.Stderr, "onlineapp:", err)
			os.Exit(2)
		}
		c.Pub = b
	}
	if err := start(context.Background(), os.Stdout, c); err != nil {
		fmt.Fprintln(os.Stderr, "onlineapp: cannot start:", err)
		os.Exit(1)
	}
}

// errOffline says the server was unreachable and a request file was written.
var errOffline = errors.New("the licensing server cannot be reached")

func start(ctx context.Context, w io.Writer, c config) error {
	keys, err := verifier.ParseKeyring(c.Pub)
	if err != nil {
		return fmt.Errorf("vendor key: %w", err)
	}
	lic, err := os.ReadFile(c.License)
	if err != nil {
		return fmt.Errorf("no license: %w", err)
	}
	p, err := machine.Collect(machine.Options{Root: c.Root, TPM: c.TPM})
	if err != nil {
		return err
	}
	fp := p.Digest(product)
	actPath := c.License + ".act"
	act, err := os.ReadFile(actPath)
	if errors.Is(err, fs.ErrNotExist) {
		if act, err = activateOnline(ctx, w, c, keys, lic, fp, actPath); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	// Offline from here on: license, activation and this machine's hardware.
	a, err := verifier.VerifyActivation(lic, act, fp, verifier.Options{Keys: keys, Product: product})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ledgerpro started: licensed to %s, device %s\n", a.Customer, a.Activation.Device)
	if c.CheckIn && c.Server != "" {
		cl := c.client(keys)
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if ci, err := cl.CheckIn(ctx, act, fp); err != nil {
			fmt.Fprintf(w, "check-in failed (the application keeps running): %v\n", err)
		} else {
			fmt.Fprintf(w, "checked in (%d so far)\n", ci.CheckIns)
			if ci.Token != nil {
				// A leased license: keep the renewed activation, verified and
				// written atomically, so the next start verifies offline.
				if err := client.SaveActivation(actPath, lic, ci.Token, fp, keys); err != nil {
					fmt.Fprintf(w, "the renewed activation was not saved: %v\n", err)
				} else {
					fmt.Fprintf(w, "lease renewed until %s\n", ci.Expires.Format(time.DateOnly))
				}
			}
		}
	}
	return nil
}

func (c config) client(keys *verifier.Keyring) *client.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &client.Client{BaseURL: c.Server, Keys: keys}
}

// activateOnline asks the server for an activation and saves it; if the
// server is unreachable it writes the request for the offline path instead.
func activateOnline(ctx context.Context, w io.Writer, c config, keys *verifier.Keyring, lic []byte, fp *fingerprint.Fingerprint, actPath string) ([]byte, error) {
	host, _ := os.Hostname()
	if host == "" {
		host = "unnamed"
	}
	req, err := activation.NewRequest(lic, fp, host, false)
	if err != nil {
		return nil, err
	}
	if c.Server != "" {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		a, err := c.client(keys).Activate(ctx, req)
		switch {
		case err == nil:
			if err := os.WriteFile(actPath, a.Armor(), 0o644); err != nil {
				return nil, err
			}
			fmt.Fprintf(w, "activated online (%s): saved %s\n", a.Outcome, filepath.Base(actPath))
			return a.Armor(), nil
		case !errors.Is(err, client.ErrUnavailable):
			return nil, err // refused: say why
		}
		fmt.Fprintf(w, "%v\n", err)
	}
	b, err := req.Armor()
	if err != nil {
		return nil, err
	}
	reqPath := c.License + ".req"
	if err := os.WriteFile(reqPath, b, 0o644); err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "wrote %s: send it to the vendor and save the activation you get back as %s\n", filepath.Base(reqPath), filepath.Base(actPath))
	return nil, fmt.Errorf("%w: activate offline with %s", errOffline, reqPath)
}
