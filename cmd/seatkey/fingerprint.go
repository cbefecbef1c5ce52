package main

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/seatkey/seatkey/fingerprint"
)

func cmdFingerprint(e *env, args []string) error {
	fs := e.flags("fingerprint", "[--root DIR] [--tpm PATH|none] [--scope S] [--json] [--show-raw] [-o FILE] | --compare FILE", `
Reads this machine's components (processor, baseboard, system UUID and
serials, firmware, memory, fixed disks, physical NICs, the TPM's endorsement
key, and the host name, domain and machine ID, which never decide identity)
and shows their keyed digests: raw serials are shown only with --show-raw and
never written to FILE. With --compare, decides whether this machine is the
device a saved fingerprint was taken from, explains each component, and exits
0 for the same device, 1 for a new one.`)
	root := fs.String("root", "", "read hardware from `DIR` (a sysfs/procfs/udev tree or a ghw snapshot .tar.gz)")
	tpm := fs.String("tpm", "", "TPM device or swtpm socket `PATH`, or none (default: /dev/tpmrm0 if present)")
	scope := fs.String("scope", "seatkey", "digest key `SCOPE`, normally the product ID")
	jsonOut := fs.Bool("json", false, "print JSON")
	showRaw := fs.Bool("show-raw", false, "also print raw values (serials, MACs): keep them private")
	out := fs.StringP("output", "o", "", "write the fingerprint (digests only) to `FILE`")
	force := forceFlag(fs)
	compare := fs.String("compare", "", "compare this machine with the fingerprint in `FILE`")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var saved *fingerprint.Fingerprint
	if *compare != "" {
		b, err := e.readInput(*compare)
		if err != nil {
			return err
		}
		if saved, err = fingerprint.ParseFingerprint(b); err != nil {
			return err
		}
		*scope = saved.Scope
	}
	p, err := e.collect(*root, *tpm)
	if err != nil {
		return err
	}
	f := p.Digest(*scope)
	if saved != nil {
		r := fingerprint.Match(saved, f, fingerprint.PolicyFor(saved)) // a VM by its hypervisor identity
		if *jsonOut {
			if err := e.printJSON(r); err != nil {
				return err
			}
		} else {
			fmt.Fprint(e.stdout, r.String())
		}
		if !r.Same {
			return fmt.Errorf("new device: %s", r.Reason())
		}
		return nil
	}
	if *out != "" {
		if err := e.writeOutput(*out, f.Armor(), *force); err != nil {
			return err
		}
	}
	if *jsonOut {
		comps := map[string][]string{}
		raw := map[string][]string{}
		for _, c := range fingerprint.Components() {
			byDigest := rawByDigest(p, c, f.Scope, *showRaw)
			for _, d := range f.Components[c] {
				comps[c.String()] = append(comps[c.String()], hex.EncodeToString(d[:]))
				if *showRaw {
					raw[c.String()] = append(raw[c.String()], byDigest[d]) // same order as components
				}
			}
		}
		m := map[string]any{"scope": f.Scope, "components": comps, "notes": nonNil(p.Notes)}
		if *showRaw {
			m["raw"] = raw
		}
		return e.printJSON(m)
	}
	fmt.Fprintf(e.stdout, "scope %s\n", esc(f.Scope))
	for _, c := range fingerprint.Components() {
		raw := rawByDigest(p, c, f.Scope, *showRaw)
		for i, d := range f.Components[c] {
			name := c.String()
			if i > 0 {
				name = ""
			}
			line := fmt.Sprintf("%-14s %x", name, d[:])
			if *showRaw {
				line += "  " + esc(raw[d])
			}
			fmt.Fprintln(e.stdout, strings.TrimRight(line, " "))
		}
	}
	if *out != "" {
		fmt.Fprintf(e.stderr, "wrote %s\n", esc(*out))
	}
	return nil
}

// rawByDigest maps each digest of c to the raw value it was computed from:
// digests are sorted by value and raw values by text, so their orders differ.
func rawByDigest(p *fingerprint.Profile, c fingerprint.Component, scope string, show bool) map[fingerprint.Digest]string {
	m := map[fingerprint.Digest]string{}
	if show {
		for _, v := range p.Values[c] {
			m[digestOf(c, v, scope)] = v
		}
	}
	return m
}

// digestOf is the digest of one raw value of c, as Profile.Digest makes it.
func digestOf(c fingerprint.Component, v, scope string) fingerprint.Digest {
	p := fingerprint.Profile{Values: map[fingerprint.Component][]string{c: {v}}}
	return p.Digest(scope).Components[c][0]
}
