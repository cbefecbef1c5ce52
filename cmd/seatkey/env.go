package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/seatkey/seatkey/issuer"
)

// env is everything a command may touch outside its arguments and the files
// it names, so tests run commands in-process with their own streams, clock,
// environment and terminal.
type env struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	getenv         func(string) string
	now            func() time.Time
	// terminal reports whether a person is at the keyboard (standard input
	// is a terminal), and readPassword reads one line there without echo.
	terminal     func() bool
	readPassword func() ([]byte, error)
}

// usageError makes the command exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// flags returns a flag set whose --help prints synopsis, description and flags.
func (e *env) flags(name, synopsis, about string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: seatkey %s %s\n\n%s\n\nFlags:\n%s", name, synopsis, strings.TrimSpace(about), fs.FlagUsages())
	}
	return fs
}

// parse parses flags (pflag itself prints --help); other errors are usage errors.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// printJSON prints v indented: for a command's one result.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONLine prints v on one line: JSON Lines, for a result per argument.
func (e *env) printJSONLine(v any) error { return json.NewEncoder(e.stdout).Encode(v) }

// openLedger opens an existing ledger (creating one is 'seatkey ledger init')
// with the environment's clock and user as actor.
func (e *env) openLedger(path string) (*issuer.Ledger, error) {
	if path == "" {
		return nil, usagef("--ledger is required")
	}
	l, err := issuer.OpenLedger(path)
	if errors.Is(err, issuer.ErrNoLedger) {
		return nil, fmt.Errorf("%w (create one with 'seatkey ledger init --ledger %s')", err, issuer.RedactDSN(path))
	}
	if err != nil {
		return nil, err
	}
	e.setup(l)
	return l, nil
}

func (e *env) setup(l *issuer.Ledger) {
	l.Now = e.now
	l.Actor = "cli"
	if u := e.getenv("USER"); u != "" {
		l.Actor = "cli:" + u
	}
}

// withLedger runs f on the ledger at path and closes it.
func (e *env) withLedger(path string, f func(*issuer.Ledger) error) error {
	l, err := e.openLedger(path)
	if err != nil {
		return err
	}
	defer l.Close()
	return f(l)
}

// passphrase reads --passphrase-file (refused when group or others can read
// it, like a key file), else $SEATKEY_PASSPHRASE. Nil when neither is given.
func (e *env) passphrase(file string) ([]byte, error) {
	if file != "" {
		return readSecret("passphrase", file)
	}
	if p := e.getenv("SEATKEY_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	return nil, nil
}

// readSecret reads a secret kept in a file: the first line, refused when
// the file is empty or readable by group or others (like a key file).
func readSecret(what, file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s file %s: readable by group or others (mode %04o); run chmod 600 %s", what, esc(file), st.Mode().Perm(), esc(file))
	}
	b, err := readAllLimited(f, file)
	if err != nil {
		return nil, err
	}
	if p := strings.TrimRight(string(b), "\r\n"); p != "" {
		return []byte(p), nil
	}
	return nil, fmt.Errorf("%s file %s is empty", what, esc(file))
}

// prompt asks for a passphrase on the terminal, twice when confirm is set.
func (e *env) prompt(what string, confirm bool) ([]byte, error) {
	fmt.Fprintf(e.stderr, "%s: ", what)
	p, err := e.readPassword()
	fmt.Fprintln(e.stderr)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if confirm {
		fmt.Fprint(e.stderr, "again: ")
		q, err := e.readPassword()
		fmt.Fprintln(e.stderr)
		if err != nil {
			return nil, err
		}
		if string(p) != string(q) {
			return nil, errors.New("the passphrases differ")
		}
	}
	return p, nil
}

// loadKey reads a private key, asking for its passphrase on a terminal when
// it is encrypted and none was given.
func (e *env) loadKey(path, passFile string) (*issuer.Key, error) {
	if path == "" {
		return nil, usagef("--key is required")
	}
	pass, err := e.passphrase(passFile)
	if err != nil {
		return nil, err
	}
	if pass == nil && e.terminal() {
		if b, err := os.ReadFile(path); err == nil {
			if _, encrypted, err := issuer.KeyFileID(b); err == nil && encrypted {
				if pass, err = e.prompt("passphrase for "+path, false); err != nil {
					return nil, err
				}
			}
		}
	}
	return issuer.LoadKey(path, pass)
}

// Flags several commands share, spelled and documented once.

func ledgerFlag(fs *pflag.FlagSet) *string {
	return fs.String("ledger", "", "ledger: an SQLite `FILE` or a postgres:// URL (made by 'seatkey ledger init'; a password comes from $PGPASSWORD or ~/.pgpass)")
}

func forceFlag(fs *pflag.FlagSet) *bool {
	return fs.Bool("force", false, "replace the output FILE if it exists")
}

// keyFlags declares --key and --passphrase-file for a command that signs.
func keyFlags(fs *pflag.FlagSet, about string) (key, passFile *string) {
	return fs.String("key", "", "signing key `FILE` (NAME.key)"+about),
		fs.String("passphrase-file", "", "passphrase `FILE` (mode 0600; or $SEATKEY_PASSPHRASE, or asked on a terminal)")
}
