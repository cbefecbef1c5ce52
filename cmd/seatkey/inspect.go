package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

func cmdInspect(e *env, args []string) error {
	fs := e.flags("inspect", "[--json] FILE", `
Shows what a seatkey file says: a license (all claims, its ID, size), a public
key (key ID and the raw Ed25519 key), a private key (key ID and whether it is
encrypted; the key itself is never shown), an activation, an activation
request, a fingerprint or a revocation list. A license is not verified here: use
'seatkey verify' for that. FILE may be "-" for standard input.`)
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("need exactly one FILE")
	}
	b, err := e.readInput(fs.Arg(0))
	if err != nil {
		return err
	}
	label, err := license.Sniff(b) // any form: armored, single line or binary
	if err != nil {
		return err
	}
	switch label {
	case "PUBLIC KEY":
		k, err := license.ParsePublicKey(b)
		if err != nil {
			return err
		}
		if *jsonOut {
			return e.printJSON(map[string]any{"type": "public-key", "kid": k.ID(), "ed25519": hex.EncodeToString(k.Key)})
		}
		fmt.Fprintf(e.stdout, "type     public key (Ed25519)\nkid      %s\ned25519  %x\nline     %s\n", k.ID(), []byte(k.Key), k.Line())
	case "PRIVATE KEY":
		id, enc, err := issuer.KeyFileID(b)
		if err != nil {
			return err
		}
		if *jsonOut {
			return e.printJSON(map[string]any{"type": "private-key", "kid": id, "encrypted": enc})
		}
		fmt.Fprintf(e.stdout, "type       private key (Ed25519)\nkid        %s\nencrypted  %v\n", id, enc)
	case "ACTIVATION":
		c, kid, size, err := activation.Inspect(b)
		if err != nil {
			return err
		}
		j := map[string]any{"type": "activation", "id": c.ID, "kid": kid, "license": c.License, "device": c.Device, "issued_at": c.IssuedAt,
			"overage": c.Overage, "failover": c.Failover, "components": componentNames(c.Fingerprint), "threshold_percent": c.EffectivePolicy().Threshold, "size": size}
		if !c.Expires.IsZero() {
			j["expires"] = c.Expires
		}
		credential := "none (not bound to a TPM)"
		if cr := c.Credential; cr != nil {
			j["credential"] = map[string]any{"ak_handle": fmt.Sprintf("%#x", cr.Handle), "ak_point": hex.EncodeToString(cr.AKPoint),
				"commitment": hex.EncodeToString(cr.Commitment[:]), "blob_size": len(cr.Blob), "seed_size": len(cr.Secret)}
			credential = fmt.Sprintf("bound to a TPM: attestation key at %#x, secret commitment %x", cr.Handle, cr.Commitment[:8])
		}
		if *jsonOut {
			return e.printJSON(j)
		}
		exp := "never"
		if !c.Expires.IsZero() {
			exp = through(c.Expires)
		}
		fmt.Fprintf(e.stdout, "type        activation (not verified)\nid          %s\nkid         %s\nlicense     %s\ndevice      %s\nissued      %s\nexpires     %s\noverage     %v\nfailover    %v\ncomponents  %s\ncredential  %s\nsize        %d bytes\n",
			c.ID, kid, c.License, c.Device, c.IssuedAt.Format(time.RFC3339), exp, c.Overage, c.Failover, strings.Join(componentNames(c.Fingerprint), ", "), credential, size)
	case "ACTIVATION REQUEST":
		r, err := activation.ParseRequest(b)
		if err != nil {
			return err
		}
		j := map[string]any{"type": "activation-request", "label": r.Label, "created": r.Created, "failover": r.Failover,
			"scope": r.Fingerprint.Scope, "components": componentNames(r.Fingerprint)}
		if t, err := license.Inspect(r.License); err == nil {
			j["license"], j["customer"], j["product"] = t.Claims.ID, t.Claims.Customer, t.Claims.Product
		}
		if *jsonOut {
			return e.printJSON(j)
		}
		fmt.Fprintf(e.stdout, "type        activation request (unsigned)\nlabel       %s\nlicense     %v\ncreated     %s\nfailover    %v\ncomponents  %s\n",
			esc(r.Label), j["license"], r.Created.Format(time.RFC3339), r.Failover, strings.Join(componentNames(r.Fingerprint), ", "))
	case "FINGERPRINT":
		f, err := fingerprint.ParseFingerprint(b)
		if err != nil {
			return err
		}
		if *jsonOut {
			return e.printJSON(map[string]any{"type": "fingerprint", "scope": f.Scope, "components": componentNames(f)})
		}
		fmt.Fprintf(e.stdout, "type        fingerprint\nscope       %s\ncomponents  %s\n", esc(f.Scope), strings.Join(componentNames(f), ", "))
	case "REVOCATION LIST":
		raw, err := license.Decode(license.TypeRevocation, b)
		if err != nil {
			return err
		}
		m, err := cose.Parse(raw, license.MaxRevocationSize)
		if err != nil {
			return err
		}
		rl, err := license.ParseRevocations(m.Payload)
		if err != nil {
			return err
		}
		var kid license.KeyID
		copy(kid[:], m.KID)
		nl, na, nk := rl.Len()
		if *jsonOut {
			return e.printJSON(map[string]any{"type": "revocation-list", "kid": kid, "vendor": rl.Vendor, "sequence": rl.Sequence,
				"issued_at": rl.IssuedAt, "next_update": rl.NextUpdate, "licenses": nl, "activations": na, "keys": nk, "size": len(raw)})
		}
		fmt.Fprintf(e.stdout, "type         revocation list (not verified)\nkid          %s\nvendor       %s\nsequence     %d\nissued       %s\nnext update  %s\nrevoked      %d licenses, %d activations, %d keys\nsize         %d bytes\n",
			kid, esc(rl.Vendor), rl.Sequence, rl.IssuedAt.Format(time.RFC3339), rl.NextUpdate.Format(time.RFC3339), nl, na, nk, len(raw))
	case "LICENSE":
		t, err := license.Inspect(b)
		if err != nil {
			return err
		}
		if *jsonOut {
			return e.printJSON(tokenJSON(t))
		}
		printClaims(e, t)
	default:
		return fmt.Errorf("%w: unknown file type %q", license.ErrMalformed, label)
	}
	return nil
}

func componentNames(f *fingerprint.Fingerprint) []string {
	var out []string
	for _, c := range fingerprint.Components() {
		if n := len(f.Components[c]); n == 1 {
			out = append(out, c.String())
		} else if n > 1 {
			out = append(out, fmt.Sprintf("%s (%d)", c, n))
		}
	}
	return out
}

// tokenJSON is the JSON shape of a license: its claims, plus type, kid, size.
func tokenJSON(t *license.Token) map[string]any {
	c := t.Claims
	m := map[string]any{
		"type": "license", "id": c.ID, "kid": t.KeyID, "size": t.Size,
		"vendor": c.Vendor, "customer": c.Customer, "product": c.Product, "edition": c.Edition,
		"features": nonNil(c.Features), "seats": c.Seats, "failover": c.Failover, "kind": c.Kind,
		"issued_at": c.IssuedAt, "not_before": firstTime(c.NotBefore, c.IssuedAt),
	}
	if !c.Expires.IsZero() {
		m["expires"] = c.Expires
	}
	if !c.UpgradesUntil.IsZero() {
		m["upgrades_until"] = c.UpgradesUntil
	}
	if c.Major != 0 {
		m["major"] = c.Major
	}
	if c.Revision != 0 {
		m["revision"] = c.Revision
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func firstTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}

func printClaims(e *env, t *license.Token) {
	c := t.Claims
	var w bytes.Buffer
	row := func(k, v string) { fmt.Fprintf(&w, "%-15s %s\n", k, v) }
	row("type", "license")
	row("id", c.ID.String())
	row("kid", t.KeyID.String())
	row("size", fmt.Sprintf("%d bytes", t.Size))
	row("vendor", esc(c.Vendor))
	row("customer", esc(c.Customer))
	row("product", esc(c.Product))
	row("edition", esc(c.Edition))
	row("kind", c.Kind.String())
	row("seats", fmt.Sprint(c.Seats))
	row("failover", fmt.Sprint(c.Failover))
	row("features", esc(strings.Join(c.Features, ", ")))
	row("issued", c.IssuedAt.Format(time.RFC3339))
	row("valid from", firstTime(c.NotBefore, c.IssuedAt).Format(time.RFC3339))
	exp := "never expires"
	if !c.Expires.IsZero() {
		exp = through(c.Expires)
	}
	row("valid", exp)
	up := "none"
	if !c.UpgradesUntil.IsZero() {
		up = through(c.UpgradesUntil)
	}
	row("upgrades", up)
	major := "any"
	if c.Major != 0 {
		major = fmt.Sprint(c.Major)
	}
	row("major", major)
	if c.Revision != 0 {
		row("revision", fmt.Sprintf("%d (re-issued; the ledger refuses older revisions)", c.Revision))
	}
	e.stdout.Write(w.Bytes())
}
