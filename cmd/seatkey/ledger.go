package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
)

func init() {
	commands["request"] = command{"write an activation request for this machine", cmdRequest}
	commands["activate"] = command{"activate any number of requests against the ledger", cmdActivate}
	commands["devices"] = command{"list the devices in the ledger", cmdDevices}
	commands["decommission"] = command{"free the seats of devices", cmdDecommission}
	commands["report"] = command{"usage report: one row per device and a summary", cmdReport}
	commands["unsuspend"] = command{"lift a customer's suspension", cmdUnsuspend}
}

func openLedger(path string) (*issuer.Ledger, error) {
	if path == "" {
		return nil, usagef("--ledger is required")
	}
	l, err := issuer.OpenLedger(path)
	if err != nil {
		return nil, err
	}
	l.Actor = "cli"
	if u := os.Getenv("USER"); u != "" {
		l.Actor = "cli:" + u
	}
	return l, nil
}

func cmdRequest(e *env, args []string) error {
	fs := e.flags("request", "--license FILE [--root DIR] [--tpm PATH|none] [--label NAME] [--failover] -o FILE", `
Writes an activation request for this machine: the license, this machine's
fingerprint (digests keyed by the product; no raw serials), a label and a
nonce. Carry it to the vendor, who runs 'seatkey activate'.`)
	licFile := fs.String("license", "", "license `FILE`")
	root := fs.String("root", "", "read hardware from `DIR` (see seatkey fingerprint)")
	tpm := fs.String("tpm", "", "TPM device or socket `PATH`, or none")
	label := fs.String("label", "", "device `NAME` shown in the vendor's ledger (default: host name)")
	failover := fs.Bool("failover", false, "ask for one of the license's failover installations")
	out := fs.StringP("output", "o", "", "write the request to `FILE`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *licFile == "" || *out == "" || fs.NArg() != 0 {
		return usagef("need --license FILE and -o FILE")
	}
	tok, err := readInput(*licFile)
	if err != nil {
		return err
	}
	t, err := license.Inspect(tok)
	if err != nil {
		return err
	}
	p, err := machine.Collect(machine.Options{Root: *root, TPM: *tpm})
	if err != nil {
		return err
	}
	for _, n := range p.Notes {
		fmt.Fprintln(e.stderr, "note:", n)
	}
	if *label == "" {
		if h := p.Values[fingerprint.Hostname]; len(h) > 0 {
			*label = h[0]
		} else {
			*label = "unnamed"
		}
	}
	req, err := activation.NewRequest(tok, p.Digest(t.Claims.Product), *label, *failover)
	if err != nil {
		return err
	}
	b, err := req.Armor()
	if err != nil {
		return err
	}
	if err := e.writeOutput(*out, b); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote request for %s (%s) to %s\n", t.Claims.ID, *label, *out)
	return nil
}

func cmdActivate(e *env, args []string) error {
	fs := e.flags("activate", "--key NAME.key --ledger DB [-o DIR] REQUEST|DIR...", `
Activates every request given (files, or directories of *.req files) against
the ledger and writes one activation file per device to DIR. Prints one line
per request and a summary; a request that fails does not stop the others.
Exit 1 if any request was refused.`)
	key := fs.String("key", "", "signing key `FILE`")
	passFile := fs.String("passphrase-file", "", "passphrase `FILE` (or $SEATKEY_PASSPHRASE)")
	ledgerPath := fs.String("ledger", "", "ledger database `FILE` (created on first use)")
	out := fs.StringP("output", "o", ".", "write activation files to `DIR`")
	jsonOut := fs.Bool("json", false, "print one JSON object per request")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || fs.NArg() == 0 {
		return usagef("need --key, --ledger and at least one REQUEST")
	}
	var files []string
	for _, a := range fs.Args() {
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			m, _ := filepath.Glob(filepath.Join(a, "*.req"))
			sort.Strings(m)
			files = append(files, m...)
		} else {
			files = append(files, a)
		}
	}
	sk, err := e.loadKey(*key, *passFile)
	if err != nil {
		return err
	}
	l, err := openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	counts := map[string]int{}
	failed := 0
	for _, f := range files {
		b, err := readInput(f)
		var r *issuer.Result
		if err == nil {
			r, err = l.Activate(sk, b)
		}
		if err == nil {
			name := filepath.Join(*out, r.Device.String()+".act")
			err = e.writeOutput(name, license.Armor(license.TypeActivation, r.Token))
		}
		if err != nil {
			failed++
			if *jsonOut {
				e.printJSON(map[string]any{"request": f, "ok": false, "error": err.Error()})
			} else {
				fmt.Fprintf(e.stdout, "%s: refused: %v\n", f, err)
			}
			continue
		}
		counts[string(r.Outcome)]++
		if *jsonOut {
			e.printJSON(map[string]any{"request": f, "ok": true, "outcome": r.Outcome, "device": r.Device, "activation": r.Activation,
				"label": r.Label, "overage": r.Overage, "failover": r.Failover, "file": filepath.Join(*out, r.Device.String()+".act")})
			continue
		}
		flags := ""
		if r.Overage {
			flags += " OVERAGE"
		}
		if r.Failover {
			flags += " failover"
		}
		fmt.Fprintf(e.stdout, "%s: %s %s %q%s\n", f, r.Outcome, r.Device, r.Label, flags)
	}
	var parts []string
	for _, k := range []string{"new-device", "same-device", "recommissioned", "replayed"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d refused", failed))
	}
	fmt.Fprintf(e.stderr, "%d requests: %s\n", len(files), strings.Join(parts, ", "))
	if failed > 0 {
		return fmt.Errorf("%d of %d requests refused", failed, len(files))
	}
	return nil
}

func parseFilter(licID, customer string) (issuer.Filter, error) {
	f := issuer.Filter{Customer: customer}
	if licID != "" {
		id, err := license.ParseID(licID)
		if err != nil {
			return f, usageError{err.Error()}
		}
		f.License = id
	}
	return f, nil
}

func cmdDevices(e *env, args []string) error {
	fs := e.flags("devices", "--ledger DB [--license ID] [--customer C] [--json]", `Lists the devices in the ledger with their status.`)
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	licID := fs.String("license", "", "only this license `ID` (lic_...)")
	customer := fs.String("customer", "", "only this customer")
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	f, err := parseFilter(*licID, *customer)
	if err != nil {
		return err
	}
	l, err := openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	var devs []issuer.Device
	if err := l.EachDevice(f, func(d *issuer.Device) error { devs = append(devs, *d); return nil }); err != nil {
		return err
	}
	if *jsonOut {
		if devs == nil {
			devs = []issuer.Device{}
		}
		return e.printJSON(devs)
	}
	for _, d := range devs {
		extra := ""
		if d.Overage {
			extra += " overage"
		}
		if d.Failover {
			extra += " failover"
		}
		fmt.Fprintf(e.stdout, "%s  %-15s %-30q %s %s%s\n", d.ID, d.Status, d.Label, d.License, d.Customer, extra)
	}
	return nil
}

func cmdDecommission(e *env, args []string) error {
	fs := e.flags("decommission", "--ledger DB DEVICE...", `
Decommissions devices (dev_...), freeing their seats. Refused for
per-deployment licenses and for perpetual licenses whose support has ended.
A decommissioned device that is activated again is recommissioned.`)
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("need at least one DEVICE")
	}
	var ids []activation.DeviceID
	for _, a := range fs.Args() {
		id, err := activation.ParseDeviceID(a)
		if err != nil {
			return usageError{err.Error()}
		}
		ids = append(ids, id)
	}
	l, err := openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	var errs []error
	for _, id := range ids {
		if err := l.Decommission(id); err != nil {
			errs = append(errs, err)
			fmt.Fprintf(e.stdout, "%s: refused: %v\n", id, err)
			continue
		}
		fmt.Fprintf(e.stdout, "%s: decommissioned\n", id)
	}
	return errors.Join(errs...)
}

func cmdReport(e *env, args []string) error {
	fs := e.flags("report", "--ledger DB [--license ID] [--customer C] --csv|--json", `
Writes the usage report: one row per device (license, customer, device, label,
status, failover, first and last activation, overage, price), then, after a
blank line, one summary row per license (seats, used, overage devices, amount
due). --json writes {"devices": [...], "summary": [...]}.`)
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	licID := fs.String("license", "", "only this license `ID`")
	customer := fs.String("customer", "", "only this customer")
	csvOut := fs.Bool("csv", false, "CSV")
	jsonOut := fs.Bool("json", false, "JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *csvOut == *jsonOut {
		return usagef("need exactly one of --csv and --json")
	}
	f, err := parseFilter(*licID, *customer)
	if err != nil {
		return err
	}
	l, err := openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	if *csvOut {
		return l.WriteCSV(e.stdout, f)
	}
	return l.WriteJSON(e.stdout, f)
}

func cmdUnsuspend(e *env, args []string) error {
	fs := e.flags("unsuspend", "--ledger DB CUSTOMER", `Lifts a customer's suspension and resets its recommission count.`)
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("need exactly one CUSTOMER")
	}
	l, err := openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	return l.Unsuspend(fs.Arg(0))
}

func parsePrice(s string) (int64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w < 0 || len(frac) > 2 {
		return 0, usagef("--overage-price: %q is not an amount like 50 or 49.99", s)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt((frac + "0")[:2], 10, 64); err != nil {
			return 0, usagef("--overage-price: %q is not an amount", s)
		}
	}
	return w*100 + f, nil
}
