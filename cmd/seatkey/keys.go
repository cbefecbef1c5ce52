package main

import (
	"fmt"

	"github.com/seatkey/seatkey/issuer"
)

func cmdKeygen(e *env, args []string) error {
	fs := e.flags("keygen", "-o NAME [--passphrase-file F | --unencrypted]", `
Creates an Ed25519 signing key: NAME.key (private, mode 0600, encrypted with
argon2id and ChaCha20-Poly1305) and NAME.pub (public, to embed in your
application). Prints the key ID. Never overwrites an existing file.

The passphrase comes from --passphrase-file (a file only you can read, mode
0600), else $SEATKEY_PASSPHRASE, else it is asked for twice on the terminal.
Without any of them keygen refuses, unless --unencrypted asks for a key
file that anyone who can read it can use.`)
	out := fs.StringP("output", "o", "", "base `NAME` of the two key files")
	passFile := fs.String("passphrase-file", "", "read the passphrase from `FILE` (mode 0600)")
	unencrypted := fs.Bool("unencrypted", false, "write the private key without encryption")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return usagef("need -o NAME and no arguments")
	}
	pass, err := e.passphrase(*passFile)
	if err != nil {
		return err
	}
	switch {
	case pass != nil && *unencrypted:
		return usagef("--unencrypted and a passphrase contradict each other")
	case pass == nil && !*unencrypted && e.terminal():
		if pass, err = e.prompt("passphrase for "+*out+".key", true); err != nil {
			return err
		}
	case pass == nil && !*unencrypted:
		return usagef("no passphrase: give --passphrase-file FILE or $SEATKEY_PASSPHRASE, run on a terminal to be asked, or --unencrypted")
	}
	k, err := issuer.GenerateKey()
	if err != nil {
		return err
	}
	if err := issuer.WriteKeyFiles(*out, k, pass, issuer.DefaultKDF); err != nil {
		return err
	}
	if *jsonOut {
		return e.printJSON(map[string]any{"kid": k.ID(), "private": *out + ".key", "public": *out + ".pub", "encrypted": len(pass) > 0})
	}
	enc := "encrypted"
	if len(pass) == 0 {
		enc = "UNENCRYPTED"
	}
	fmt.Fprintf(e.stdout, "%s\n", k.ID())
	fmt.Fprintf(e.stderr, "wrote %s.key (%s, mode 0600) and %s.pub\n", esc(*out), enc, esc(*out))
	return nil
}
