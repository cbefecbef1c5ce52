package main

import (
	"fmt"

	"github.com/seatkey/seatkey/issuer"
)

func cmdKeygen(e *env, args []string) error {
	fs := e.flags("keygen", "-o NAME [--passphrase-file F]", `
Creates an Ed25519 signing key: NAME.key (private, mode 0600, encrypted with
argon2id and ChaCha20-Poly1305 when a passphrase is given by --passphrase-file
or $SEATKEY_PASSPHRASE) and NAME.pub (public, to embed in your application).
Prints the key ID. Never overwrites an existing file.`)
	out := fs.StringP("output", "o", "", "base `NAME` of the two key files")
	passFile := fs.String("passphrase-file", "", "read the passphrase from `FILE`")
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
	enc := "unencrypted"
	if len(pass) > 0 {
		enc = "encrypted"
	}
	fmt.Fprintf(e.stdout, "%s\n", k.ID())
	fmt.Fprintf(e.stderr, "wrote %s.key (%s, mode 0600) and %s.pub\n", *out, enc, *out)
	return nil
}

func (e *env) loadKey(path, passFile string) (*issuer.Key, error) {
	pass, err := e.passphrase(passFile)
	if err != nil {
		return nil, err
	}
	return issuer.LoadKey(path, pass)
}
