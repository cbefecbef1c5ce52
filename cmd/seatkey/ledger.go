package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

func cmdLedger(e *env, args []string) error {
	fs := e.flags("ledger", "init --ledger DB | copy --ledger DB --to DB", `
'seatkey ledger init' creates a new, empty ledger (an SQLite file, mode 0600)
and refuses a path where anything exists. Every other command opens an
existing ledger only, so a mistyped --ledger is an error rather than a new,
empty ledger.

A postgres:// URL names an existing PostgreSQL database, which init gives
the ledger's schema (it refuses a database that already holds one). Leave
the password out of the URL, which others can read in the process list:
the driver takes it from $PGPASSWORD or ~/.pgpass.

'seatkey ledger copy' copies a whole ledger into a new one, for a vendor
moving from its SQLite file to PostgreSQL (or back): every row as it is,
the same IDs and the same audit chain, checked after the copy. It holds
both ledgers' write locks while it runs; stop the servers first anyway,
and point them at the new ledger after.`)
	ledgerPath := ledgerFlag(fs)
	to := fs.String("to", "", "copy: the new ledger, an SQLite `FILE` or a postgres:// URL (created by the copy)")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (fs.Arg(0) != "init" && fs.Arg(0) != "copy") {
		return usagef("the subcommands are: ledger init --ledger DB, ledger copy --ledger DB --to DB")
	}
	if *ledgerPath == "" {
		return usagef("--ledger is required")
	}
	if fs.Arg(0) == "copy" {
		return ledgerCopy(e, *ledgerPath, *to, *jsonOut)
	}
	if *to != "" {
		return usagef("--to goes with ledger copy")
	}
	l, err := issuer.CreateLedger(*ledgerPath)
	if err != nil {
		return err
	}
	if err := l.Close(); err != nil {
		return err
	}
	if *jsonOut {
		return e.printJSON(map[string]any{"ledger": issuer.RedactDSN(*ledgerPath), "created": true})
	}
	if issuer.IsPostgres(*ledgerPath) {
		fmt.Fprintf(e.stderr, "created ledger in %s\n", esc(issuer.RedactDSN(*ledgerPath)))
		return nil
	}
	fmt.Fprintf(e.stderr, "created ledger %s (mode 0600)\n", esc(*ledgerPath))
	return nil
}

// ledgerCopy copies the ledger at from into a new ledger at to.
func ledgerCopy(e *env, from, to string, jsonOut bool) error {
	if to == "" {
		return usagef("ledger copy needs --to, the new ledger")
	}
	src, err := e.openLedger(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := issuer.CreateLedger(to)
	if err != nil {
		return err
	}
	rep, err := issuer.CopyLedger(src, dst)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if !issuer.IsPostgres(to) {
			os.Remove(to) // a failed copy leaves no half ledger behind to be mistaken for one
		}
		return err
	}
	if jsonOut {
		return e.printJSON(map[string]any{"from": issuer.RedactDSN(from), "to": issuer.RedactDSN(to), "tables": rep.Tables, "audit": rep.Audit})
	}
	var rows int64
	for _, n := range rep.Tables {
		rows += n
	}
	fmt.Fprintf(e.stdout, "copied %d rows in %d tables from %s to %s; the audit chain verifies: %d entries, head %x\n",
		rows, len(rep.Tables), esc(issuer.RedactDSN(from)), esc(issuer.RedactDSN(to)), rep.Audit.Entries, rep.Audit.Hash)
	return nil
}

// filter reads --license and --customer; the customer is matched without
// regard to case against the names the ledger records.
func filter(l *issuer.Ledger, licID, customer string) (issuer.Filter, error) {
	var f issuer.Filter
	if licID != "" {
		id, err := license.ParseID(licID)
		if err != nil {
			return f, usageError{err.Error()}
		}
		f.License = id
	}
	if customer != "" {
		name, err := l.CustomerName(customer)
		if err != nil {
			return f, err
		}
		f.Customer = name
	}
	return f, nil
}

func cmdDevices(e *env, args []string) error {
	fs := e.flags("devices", "--ledger DB [--license ID] [--customer C] [--json]", `
Lists the devices in the ledger: ID, status, label, license, customer and
flags, under a header. --customer matches without regard to case.`)
	ledgerPath := ledgerFlag(fs)
	licID := fs.String("license", "", "only this license `ID` (lic_...)")
	customer := fs.String("customer", "", "only this customer")
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if _, err := filter(nil, *licID, ""); err != nil {
		return err
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		f, err := filter(l, *licID, *customer)
		if err != nil {
			return err
		}
		devs := []issuer.Device{}
		if err := l.EachDevice(f, func(d *issuer.Device) error { devs = append(devs, *d); return nil }); err != nil {
			return err
		}
		if *jsonOut {
			return e.printJSON(devs)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEVICE\tSTATUS\tLABEL\tLICENSE\tCUSTOMER\tFLAGS")
		for _, d := range devs {
			var flags []string
			if d.Overage {
				flags = append(flags, "overage")
			}
			if d.Failover {
				flags = append(flags, "failover")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Status, esc(d.Label), d.License, esc(d.Customer), strings.Join(flags, ","))
		}
		return tw.Flush()
	})
}

func cmdDecommission(e *env, args []string) error {
	fs := e.flags("decommission", "--ledger DB [--json] (DEVICE|LABEL... | --proof FILE...)", `
Decommissions devices, by ID (dev_...) or by label, freeing their seats. A
label must name exactly one active device. A device already decommissioned
is reported as such (exit 0). Refused for per-deployment licenses and for
perpetual licenses whose support has ended. A decommissioned device that is
activated again is recommissioned. --json prints one JSON object a line.
With --proof, each argument is a return proof a TPM-bound device signed
('seatkey return'): the device is decommissioned on its own word, checked
with its TPM key.`)
	ledgerPath := ledgerFlag(fs)
	jsonOut := fs.Bool("json", false, "print JSON Lines")
	proof := fs.Bool("proof", false, "the arguments are return proof FILEs")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("need at least one DEVICE")
	}
	if *proof {
		return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
			return e.perArg(fs.Args(), *jsonOut, func(a string) (string, string, error) {
				b, err := e.readInput(a)
				if err != nil {
					return "", "", err
				}
				id, err := l.DecommissionWithProof(b)
				if errors.Is(err, issuer.ErrNotActive) {
					return id.String(), "already decommissioned", nil
				} else if err != nil {
					return "", "", err
				}
				return id.String(), "decommissioned (returned by the device)", nil
			})
		})
	}
	for _, a := range fs.Args() {
		if strings.HasPrefix(a, "dev_") {
			if _, err := activation.ParseDeviceID(a); err != nil {
				return usageError{err.Error()}
			}
		}
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		return e.perArg(fs.Args(), *jsonOut, func(a string) (string, string, error) {
			id, err := deviceByArg(l, a)
			if err == nil {
				err = l.Decommission(id)
			}
			if errors.Is(err, issuer.ErrNotActive) {
				return id.String(), "already decommissioned", nil
			} else if err != nil {
				return "", "", err
			}
			return id.String(), "decommissioned", nil
		})
	})
}

// perArg runs f for each argument of a command that acts on many IDs, prints
// a line (or a JSON Line) for each, and fails if any failed; the others are
// still done.
func (e *env) perArg(args []string, jsonOut bool, f func(arg string) (id, outcome string, err error)) error {
	var errs []error
	for _, a := range args {
		id, outcome, err := f(a)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", esc(a), err))
			outcome = "refused"
		}
		e.report(jsonOut, a, id, outcome, err)
	}
	return errors.Join(errs...)
}

// report prints one line of a per-argument command: "ARG: OUTCOME", or a
// JSON Lines object {"arg", "id", "outcome", "error"}.
func (e *env) report(jsonOut bool, arg, id, outcome string, err error) {
	if jsonOut {
		m := map[string]any{"arg": arg, "outcome": outcome, "ok": err == nil}
		if id != "" {
			m["id"] = id
		}
		if err != nil {
			m["error"] = err.Error()
		}
		e.printJSONLine(m)
		return
	}
	if err != nil {
		fmt.Fprintf(e.stdout, "%s: refused: %v\n", esc(arg), err)
		return
	}
	if id != "" && id != arg {
		arg = fmt.Sprintf("%s (%s)", esc(arg), id)
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", esc(arg), outcome)
}

// deviceByArg resolves a device ID, or a label naming exactly one device
// that is not decommissioned (or else one that is).
func deviceByArg(l *issuer.Ledger, arg string) (activation.DeviceID, error) {
	if strings.HasPrefix(arg, "dev_") {
		return activation.ParseDeviceID(arg)
	}
	var live, gone []activation.DeviceID
	err := l.EachDevice(issuer.Filter{}, func(d *issuer.Device) error {
		if d.Label == arg {
			if d.Status == "decommissioned" {
				gone = append(gone, d.ID)
			} else {
				live = append(live, d.ID)
			}
		}
		return nil
	})
	switch {
	case err != nil:
		return activation.DeviceID{}, err
	case len(live) == 1:
		return live[0], nil
	case len(live) > 1:
		return activation.DeviceID{}, fmt.Errorf("the label names %d active devices (%v): give the device ID", len(live), live)
	case len(gone) > 0:
		return gone[0], nil
	}
	return activation.DeviceID{}, fmt.Errorf("%w: no device is labelled %q", issuer.ErrUnknownDevice, arg)
}

func cmdReport(e *env, args []string) error {
	fs := e.flags("report", "--ledger DB [--license ID] [--customer C] (--csv[=devices|summary] | --json) [-o FILE]", `
Writes the usage report. --csv (or --csv=devices) writes the device table:
one row per device (license, customer, device, label, status, failover, first
and last activation, overage, price). --csv=summary writes the summary table:
one row per license (seats, used, overage devices, amount due). Each table
has its own header and one width. Cells that a spreadsheet would take for a
formula (starting with =, +, -, @, tab or CR) are prefixed with a quote.
--json writes {"devices": [...], "summary": [...]}.`)
	ledgerPath := ledgerFlag(fs)
	licID := fs.String("license", "", "only this license `ID`")
	customer := fs.String("customer", "", "only this customer (matched without regard to case)")
	csvOut := fs.String("csv", "", "write the `TABLE` devices or summary as CSV")
	fs.Lookup("csv").NoOptDefVal = "devices"
	jsonOut := fs.Bool("json", false, "JSON")
	out := fs.StringP("output", "o", "-", "write the report to `FILE`")
	force := forceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q (the table goes with an equals sign: --csv=summary)", fs.Arg(0))
	}
	if (*csvOut == "") == !*jsonOut {
		return usagef("need exactly one of --csv and --json")
	}
	if *csvOut != "" && *csvOut != "devices" && *csvOut != "summary" {
		return usagef("--csv=%s: the tables are devices and summary", *csvOut)
	}
	if _, err := filter(nil, *licID, ""); err != nil {
		return err
	}
	if *out != "-" && !*force {
		if err := refuseExisting(*out); err != nil {
			return err
		}
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		f, err := filter(l, *licID, *customer)
		if err != nil {
			return err
		}
		write := l.WriteJSON
		switch *csvOut {
		case "devices":
			write = l.WriteDeviceCSV
		case "summary":
			write = l.WriteSummaryCSV
		}
		if *out == "-" {
			return write(e.stdout, f)
		}
		return writeFileFunc(*out, 0o644, *force, func(w io.Writer) error { return write(w, f) })
	})
}

func cmdUnsuspend(e *env, args []string) error {
	fs := e.flags("unsuspend", "--ledger DB CUSTOMER", `
Lifts a customer's suspension and resets its recommission count. CUSTOMER is
matched without regard to case.`)
	ledgerPath := ledgerFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("need exactly one CUSTOMER")
	}
	return e.withLedger(*ledgerPath, func(l *issuer.Ledger) error {
		name, err := l.CustomerName(fs.Arg(0))
		if err != nil {
			return err
		}
		if err := l.Unsuspend(name); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: unsuspended\n", esc(name))
		return nil
	})
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
