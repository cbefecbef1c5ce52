package main

import (
	"fmt"
)

// The portal's operator accounts. Register with:
//
//	commands["operator"] = command{"manage the portal's operator accounts", cmdOperator}
func cmdOperator(e *env, args []string) error {
	fs := e.flags("operator", "add --ledger DB --name NAME [--read-only] [--password-file FILE] [--json]", `
Adds an operator account for the web portal's operator pages (/ops/). The
password is prompted for on the terminal (twice, not echoed) or read from
--password-file, which must be readable by its owner only (chmod 600). It is
stored as an Argon2id hash with a random salt and its parameters; the
password itself is never stored. A --read-only operator sees every page and
changes nothing. Each operator action is recorded in the ledger's event log
as "portal:op:NAME".`)
	ledgerPath := fs.String("ledger", "", "ledger database `FILE`")
	name := fs.String("name", "", "operator `NAME` (letters, digits, . _ - @)")
	readOnly := fs.Bool("read-only", false, "the operator can look but not change anything")
	passFile := fs.String("password-file", "", "read the password from `FILE` (mode 0600)")
	jsonOut := fs.Bool("json", false, "print the account as JSON")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		return parse(fs, args)
	}
	if len(args) == 0 || args[0] != "add" {
		return usagef("need the subcommand add")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" || fs.NArg() != 0 {
		return usagef("need --ledger and --name")
	}
	var pw []byte
	var err error
	switch {
	case *passFile != "":
		pw, err = readSecret("password", *passFile)
	case e.terminal():
		pw, err = e.prompt("New operator password", true)
	default:
		return usagef("standard input is not a terminal: give the password with --password-file FILE (mode 0600)")
	}
	if err != nil {
		return err
	}
	l, err := e.openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	if err := l.AddOperator(*name, pw, *readOnly); err != nil {
		return err
	}
	if *jsonOut {
		return e.printJSON(map[string]any{"name": *name, "read_only": *readOnly})
	}
	scope := "read-write"
	if *readOnly {
		scope = "read-only"
	}
	fmt.Fprintf(e.stdout, "operator %s added (%s)\n", *name, scope)
	return nil
}
