package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/server"
)

func cmdDemo(e *env, args []string) error {
	fs := e.flags("demo", "[--dir DIR]", `
Runs the whole flow on embedded defaults, with nothing to set up: a vendor key
(encrypted), a license, inspection, offline verification, a hardware
fingerprint and its comparison, activation against a seat in the ledger, and
the refusals a tampered, copied or misused license gets, then the licensing
server on loopback (started and stopped by the demo) with a machine that
activates itself online and verifies offline. Each step is the real
CLI command, shown as you would type it, and each must end with the exit
status (and, for a refusal, the reason) the demo expects: any other outcome
stops the demo with exit 1. The device is a recorded hardware tree (--root) so
that every outcome is the same on any machine.`)
	dir := fs.String("dir", "", "work in `DIR` (default: a new temporary directory, removed afterwards)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "seatkey-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	} else if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(*dir, name) }
	pass := p("passphrase")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		return err
	}
	// Two recorded machines: the customer's server, and another machine the
	// files get copied to.
	server, other := p("server"), p("other-machine")
	if err := demoServer.write(server); err != nil {
		return err
	}
	if err := demoOther.write(other); err != nil {
		return err
	}
	branch := p("branch-office")
	if err := demoBranch.write(branch); err != nil {
		return err
	}
	hw := func(root string) []string { return []string{"--root", root, "--tpm", "none"} }
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	now := time.Now().UTC().Truncate(time.Second)
	threeWeeksBack := now.AddDate(0, 0, -21).Format(time.RFC3339)

	step := 0
	do := func(s demoStep) error {
		step++
		if s.title == "" {
			fmt.Fprintf(e.stdout, "$ seatkey %s\n", shellJoin(s.args))
		} else {
			fmt.Fprintf(e.stdout, "\n== %d. %s\n$ seatkey %s\n", step, s.title, shellJoin(s.args))
		}
		var out, errOut bytes.Buffer
		code := run(s.args, io.MultiWriter(&out, e.stdout), io.MultiWriter(&errOut, e.stdout), e.getenv)
		if err := s.check(code, out.String(), errOut.String()); err != nil {
			return fmt.Errorf("demo step %d (%s): %w", step, s.title, err)
		}
		if s.exit != 0 {
			fmt.Fprintf(e.stdout, "(exit %d, refused as expected)\n", code)
		}
		return nil
	}
	run := func(steps ...demoStep) error {
		for _, s := range steps {
			if err := do(s); err != nil {
				return err
			}
		}
		return nil
	}
	lic, pub := p("globex.lic"), p("acme.pub")
	verify := []string{"verify", "--pub", pub, "--product", "ledgerpro"}
	if err := run(
		demoStep{title: "Vendor creates its signing key", args: []string{"keygen", "-o", p("acme"), "--passphrase-file", pass}},
		demoStep{title: "Vendor creates its ledger (an embedded SQLite file, mode 0600)", args: []string{"ledger", "init", "--ledger", p("ledger.db")}},
		demoStep{title: "Vendor mints a 25-seat subscription and records it in its ledger (an embedded SQLite file)", args: []string{"mint", "--key", p("acme.key"), "--passphrase-file", pass, "--vendor", "Acme Software",
			"--product", "ledgerpro", "--customer", "Globex Corp", "--edition", "enterprise", "--seats", "25", "--failover", "2",
			"--expires", "2099-12-31", "--major", "4", "--feature", "api,reports,sso", "--ledger", p("ledger.db"),
			"--overage", "allow", "--overage-price", "50", "--contact", "it@globex.example", "-o", lic}},
		demoStep{title: "Anyone can read what the license says", stdout: "Globex Corp", args: []string{"inspect", lic}},
		demoStep{title: "The customer's air-gapped server verifies it offline (a state file remembers the latest time seen)", args: cat(verify, []string{"--version", "4.2.0", "--state", p("state"), lic})},
		demoStep{title: "This machine's own hardware fingerprint (what it shows depends on the machine)", stdout: "scope ledgerpro",
			args: []string{"fingerprint", "--scope", "ledgerpro", "-o", p("this-machine.fp")}},
		demoStep{title: "The customer's server (a recorded hardware tree): its hardware fingerprint (digests only; raw serials stay on the machine)", stdout: "board-serial",
			args: cat([]string{"fingerprint", "--scope", "ledgerpro", "-o", p("server.fp")}, hw(server))},
		demoStep{title: "Later: is this still the same device?", stdout: "same device", args: cat([]string{"fingerprint", "--compare", p("server.fp")}, hw(server))},
		demoStep{title: "Another machine is not", exit: 1, stdout: "new device", stderr: "board-serial changed", args: cat([]string{"fingerprint", "--compare", p("server.fp")}, hw(other))},
		demoStep{title: "The server asks to be activated (a file carried to the vendor: air-gapped works)",
			args: cat([]string{"request", "--license", lic, "--label", "demo-server", "-o", p("demo-server.req")}, hw(server))},
		demoStep{title: "Vendor activates it: a seat is taken in the ledger, an activation file comes back", stdout: ": new-device dev_", args: []string{"activate", "--key", p("acme.key"), "--passphrase-file", pass, "--ledger", p("ledger.db"), "-o", p("activations"), p("demo-server.req")}},
		demoStep{title: "Re-imaged and asking again: the same device, no second seat",
			args: cat([]string{"request", "--license", lic, "--label", "demo-server (reinstalled)", "-o", p("again.req")}, hw(server))},
		demoStep{stdout: ": same-device dev_", args: []string{"activate", "--key", p("acme.key"), "--passphrase-file", pass, "--ledger", p("ledger.db"), "-o", p("activations"), p("again.req")}},
		demoStep{title: "The vendor's usage report: one device on one seat", stdout: "Globex Corp", args: []string{"report", "--ledger", p("ledger.db"), "--csv"}},
		demoStep{title: "The same license for another product is refused", exit: 1, stderr: "license is for another product",
			args: []string{"verify", "--pub", pub, "--product", "inventorypro", lic}},
	); err != nil {
		return err
	}
	acts, _ := filepath.Glob(p("activations/*.act"))
	if len(acts) != 1 {
		return fmt.Errorf("expected one activation file (the same device twice), found %d", len(acts))
	}
	licText, err := os.ReadFile(lic)
	if err != nil {
		return err
	}
	tampered, err := raiseSeats(licText)
	if err != nil {
		return err
	}
	if err := os.WriteFile(p("tampered.lic"), tampered, 0o644); err != nil {
		return err
	}
	if err := run(
		demoStep{title: "The server verifies license and activation offline, against its own hardware",
			args: cat(verify, []string{"--activation", acts[0]}, hw(server), []string{lic})},
		demoStep{title: "Both files copied to another machine are refused", exit: 1, stderr: "this machine is not the activated device",
			args: cat(verify, []string{"--activation", acts[0]}, hw(other), []string{lic})},
		demoStep{title: "A license edited by hand to 99 seats reads as 99 seats ...", stdout: "99", args: []string{"inspect", p("tampered.lic")}},
		demoStep{title: "... and is refused: the signature no longer matches", exit: 1, stderr: "signature is not valid",
			args: cat(verify, []string{p("tampered.lic")})},
		demoStep{title: "The server verifies today; its state file remembers the date",
			args: cat(verify, []string{"--state", p("state"), lic})},
		demoStep{title: "Its clock is then set back three weeks: caught by the state file (checked before anything else)", exit: 1, stderr: "system clock was set back",
			args: cat(verify, []string{"--state", p("state"), "--at", threeWeeksBack, lic})},
		demoStep{title: "With the clock right again the server verifies: a clock set back blocks nothing for good",
			args: cat(verify, []string{"--state", p("state"), lic})},
	); err != nil {
		return err
	}
	// Online: the same ledger and rules behind 'seatkey serve', on loopback,
	// started here and stopped again.
	url, stopServer, err := e.demoServe(p("ledger.db"), p("acme.key"), pass)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\n== The vendor's licensing server is now listening on %s (seatkey serve, started by the demo)\n", url)
	err = run(
		demoStep{title: "A freshly deployed branch-office machine activates itself online, as Windows does after imaging", stdout: "new-device dev_",
			args: cat([]string{"online", "activate", "--server", url, "--license", lic, "--pub", pub, "--label", "branch-office", "-o", p("branch.act")}, hw(branch))},
		demoStep{title: "... and from then on verifies offline, with no network", stdout: "valid",
			args: cat(verify, []string{"--activation", p("branch.act")}, hw(branch), []string{lic})},
		demoStep{title: "It checks in now and then, so the vendor sees which installations are in use", stdout: "check",
			args: cat([]string{"online", "checkin", "--server", url, "--license", lic, "--activation", p("branch.act")}, hw(branch))},
		demoStep{title: "The vendor's ledger counts the device activated online like the one activated by file", stdout: "branch-office",
			args: []string{"devices", "--ledger", p("ledger.db")}},
	)
	if serr := stopServer(); err == nil {
		err = serr
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\n== The licensing server has stopped")
	fmt.Fprintf(e.stdout, "\ndemo complete: %d steps as expected\n", step)
	return nil
}

// demoStep is one CLI command of the demo and the outcome it must have: its
// exact exit status, and text its standard output and error must contain.
// A refusal must name its reason.
type demoStep struct {
	title          string
	exit           int
	stdout, stderr string
	args           []string
}

func (s demoStep) check(code int, stdout, stderr string) error {
	if s.exit != 0 && s.stderr == "" {
		return fmt.Errorf("a refusal step must name the reason it expects")
	}
	if code != s.exit {
		return fmt.Errorf("exit %d, expected %d", code, s.exit)
	}
	if !strings.Contains(stdout, s.stdout) {
		return fmt.Errorf("output does not say %q", s.stdout)
	}
	if !strings.Contains(stderr, s.stderr) {
		return fmt.Errorf("error does not say %q", s.stderr)
	}
	return nil
}

// raiseSeats is what a customer would try: decode the license, change the
// seat count from 25 to 99 in the signed payload, and armor it again.
func raiseSeats(armored []byte) ([]byte, error) {
	raw, err := license.Decode(license.TypeLicense, armored)
	if err != nil {
		return nil, err
	}
	// seatkey-claims key 3 (seats) => uint 25: 03 18 19.
	seats := []byte{0x03, 0x18, 0x19}
	if bytes.Count(raw, seats) != 1 {
		return nil, fmt.Errorf("demo: seat count not found once in the license")
	}
	return license.Armor(license.TypeLicense, bytes.Replace(raw, seats, []byte{0x03, 0x18, 0x63}, 1)), nil
}

// demoMachine is a recorded machine: the DMI identity and one permanent NIC,
// as the files Linux shows under /sys.
type demoMachine struct {
	dmi map[string]string
	mac string
}

var (
	demoServer = demoMachine{dmi: map[string]string{"board_vendor": "Dell Inc.", "board_name": "0PJ7YJ", "board_serial": ".7XK2PL3.CN0001.",
		"product_uuid": "4c4c4544-0058-4b10-8032-b7c04f504c33", "product_serial": "7XK2PL3"}, mac: "b0:7b:25:d4:3e:10"}
	demoOther = demoMachine{dmi: map[string]string{"board_vendor": "Dell Inc.", "board_name": "0PJ7YJ", "board_serial": ".9QRS456.CN0002.",
		"product_uuid": "4c4c4544-0051-5210-8053-c4c04f525335", "product_serial": "9QRS456"}, mac: "b0:7b:25:d4:9a:20"}
	demoBranch = demoMachine{dmi: map[string]string{"board_vendor": "Dell Inc.", "board_name": "0PJ7YJ", "board_serial": ".4LMN789.CN0003.",
		"product_uuid": "4c4c4544-004c-4d10-804e-b4c04f4c4d4e", "product_serial": "4LMN789"}, mac: "b0:7b:25:d5:11:30"}
)

// demoServe starts the licensing server over the demo's ledger on a free
// loopback port, in this process, and returns its URL and how to stop it.
func (e *env) demoServe(ledgerPath, keyPath, passFile string) (url string, stop func() error, err error) {
	sk, err := e.loadKey(keyPath, passFile)
	if err != nil {
		return "", nil, err
	}
	l, err := e.openLedger(ledgerPath)
	if err != nil {
		return "", nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(server.Config{Ledger: l, Key: sk, Vendor: "Acme Software", Logger: quiet})
	if err != nil {
		l.Close()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		l.Close()
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- server.Serve(ctx, ln, srv, "", "", 5*time.Second, quiet) }()
	return "http://" + ln.Addr().String(), func() error {
		cancel()
		err := <-done
		if cerr := l.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

func (m demoMachine) write(root string) error {
	files := map[string]string{}
	for k, v := range m.dmi {
		files["sys/class/dmi/id/"+k] = v + "\n"
	}
	dev := "sys/devices/pci0000:00/0000:00:1f.6/net/eno1/"
	files[dev+"address"] = m.mac + "\n"
	files[dev+"addr_assign_type"] = "0\n"
	for name, body := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			return err
		}
	}
	link := filepath.Join(root, "sys/class/net/eno1")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	// Where symlinks cannot be made (Windows without the privilege) the NIC
	// is absent from both machines; the DMI identity still tells them apart.
	if err := os.Symlink("../../devices/pci0000:00/0000:00:1f.6/net/eno1", link); err != nil && !os.IsExist(err) && runtime.GOOS != "windows" {
		return err
	}
	return nil
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
