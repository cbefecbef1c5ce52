package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/client"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/machine"
	"github.com/seatkey/seatkey/verifier"
)

func cmdOnline(e *env, args []string) error {
	fs := e.flags("online", "activate|checkin|return|crl --server URL [flags]", `
The device side of 'seatkey serve' (API.md), as a vendor application does it
through package client, with retries:

  activate --license F [--label N] [--failover] [--pub F] -o FILE   activate this machine online, save the activation
  checkin  --license F --activation F [--pub F]                     report that this machine runs the activation;
                                                                    a leased license's refreshed activation replaces F
  return   --license F --activation F                               give the seat back (delete the file afterwards)
  crl      --pub F -o FILE                                          fetch and verify the latest revocation list

The fingerprint is this machine's (or --root's), taken for the license's
product. If the server cannot be reached, use 'seatkey request' for the offline
path.`)
	server := fs.String("server", "", "licensing server `URL`")
	licFile := fs.String("license", "", "license `FILE`")
	actFile := fs.String("activation", "", "activation `FILE`")
	pub := fs.String("pub", "", "vendor public key `FILE`: verify what the server answers")
	root := fs.String("root", "", "read hardware from `DIR` (see seatkey fingerprint)")
	tpm := fs.String("tpm", "", "TPM device or socket `PATH`, or none")
	label := fs.String("label", "", "device `NAME` (default: host name)")
	failover := fs.Bool("failover", false, "ask for a failover installation")
	out := fs.StringP("output", "o", "", "write to `FILE`")
	force := forceFlag(fs)
	timeout := fs.Duration("timeout", time.Minute, "give up after this long, retries included")
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || *server == "" {
		return usagef("need one of activate, checkin, return, crl and --server URL")
	}
	action := fs.Arg(0)
	switch action {
	case "activate":
		if *licFile == "" || *out == "" {
			return usagef("activate needs --license and -o")
		}
	case "checkin", "return":
		if *licFile == "" || *actFile == "" {
			return usagef("%s needs --license and --activation", action)
		}
	case "crl":
		if *pub == "" || *out == "" {
			return usagef("crl needs --pub and -o")
		}
	default:
		return usagef("unknown action %q: activate, checkin, return or crl", action)
	}
	c := &client.Client{BaseURL: *server}
	if *pub != "" {
		b, err := e.readInput(*pub)
		if err != nil {
			return err
		}
		if c.Keys, err = verifier.ParseKeyring(b); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if action == "crl" {
		list, tok, err := c.LatestRevocations(ctx, c.Keys)
		if err != nil {
			return onlineErr(err)
		}
		if err := e.writeOutput(*out, license.Armor(license.TypeRevocation, tok), *force); err != nil {
			return err
		}
		nl, na, nk := list.Len()
		fmt.Fprintf(e.stderr, "revocation list %d (%d licenses, %d activations, %d keys), next update due %s\n",
			list.Sequence, nl, na, nk, list.NextUpdate.Format(time.RFC3339))
		return nil
	}
	lic, err := e.readInput(*licFile)
	if err != nil {
		return err
	}
	t, err := license.Inspect(lic)
	if err != nil {
		return err
	}
	p, err := machine.Collect(machine.Options{Root: *root, TPM: *tpm})
	if err != nil {
		return err
	}
	fp := p.Digest(t.Claims.Product)
	switch action {
	case "activate":
		if *label == "" {
			*label = "unnamed"
			if h := p.Values[fingerprint.Hostname]; len(h) > 0 {
				*label = h[0]
			}
		}
		req, err := activation.NewRequest(lic, fp, *label, *failover)
		if err != nil {
			return err
		}
		a, err := c.Activate(ctx, req)
		if err != nil {
			return onlineErr(err)
		}
		if err := e.writeOutput(*out, a.Armor(), *force); err != nil {
			return err
		}
		if *jsonOut {
			return e.printJSON(map[string]any{"outcome": a.Outcome, "device": a.Device, "activation": a.Activation, "overage": a.Overage, "failover": a.Failover, "file": *out})
		}
		fmt.Fprintf(e.stdout, "%s %s (%s): saved %s\n", a.Outcome, a.Device, a.Activation, *out)
		return nil
	}
	act, err := e.readInput(*actFile)
	if err != nil {
		return err
	}
	if action == "return" {
		if err := c.Return(ctx, act, fp); err != nil {
			return onlineErr(err)
		}
		fmt.Fprintf(e.stdout, "seat returned; delete %s\n", *actFile)
		return nil
	}
	ci, err := c.CheckIn(ctx, act, fp)
	if err != nil {
		return onlineErr(err)
	}
	if ci.Token != nil && *actFile == "-" {
		fmt.Fprintln(e.stderr, "the refreshed activation was not saved (--activation -): check in with a file to keep it")
		ci.Token = nil
	}
	if ci.Token != nil {
		// A leased license: the refreshed activation replaces the file,
		// atomically, verified first when the vendor's key is given (the
		// client checked that it is this activation either way).
		if c.Keys != nil {
			err = client.SaveActivation(*actFile, lic, ci.Token, fp, c.Keys)
		} else {
			err = writeFile(*actFile, license.Armor(license.TypeActivation, ci.Token), 0o644, true)
		}
		if err != nil {
			return fmt.Errorf("checked in, but the refreshed activation was not saved: %w", err)
		}
	}
	if *jsonOut {
		return e.printJSON(ci)
	}
	flag := ""
	if ci.SuspectedDuplicate {
		flag = " (flagged: suspected duplicate)"
	}
	fmt.Fprintf(e.stdout, "checked in %s, %d check-ins%s\n", ci.Device, ci.CheckIns, flag)
	if ci.Token != nil {
		fmt.Fprintf(e.stdout, "lease renewed until %s: saved %s\n", ci.Expires.Format(time.RFC3339), esc(*actFile))
	}
	return nil
}

func onlineErr(err error) error {
	if errors.Is(err, client.ErrUnavailable) {
		return fmt.Errorf("%w\n(the offline path works without it: seatkey request)", err)
	}
	return err
}
