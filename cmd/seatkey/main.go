// Command seatkey is the vendor's tool for offline-verifiable licenses: it
// makes signing keys, mints license tokens, shows any seatkey file and
// verifies a license the way a vendor's application does.
//
// Exit status: 0 success, 1 a refused license or failed operation (the reason
// on standard error), 2 bad usage.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

type command struct {
	summary string
	run     func(env *env, args []string) error
}

var commands = map[string]command{}

func init() {
	commands["keygen"] = command{"create a signing key pair", cmdKeygen}
	commands["mint"] = command{"sign a new license", cmdMint}
	commands["inspect"] = command{"show what a seatkey file says", cmdInspect}
	commands["verify"] = command{"verify a license as a vendor application would", cmdVerify}
	commands["demo"] = command{"run the whole flow end to end in a temporary directory", cmdDemo}
}

// env is what a command may touch, so tests can run commands in-process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// usageError makes the command exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// refusedError makes the command exit 1 without repeating "seatkey:" twice.
func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			args = []string{args[1], "--help"}
		} else {
			topUsage(stdout)
			if len(args) == 0 {
				return 2
			}
			return 0
		}
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "seatkey: unknown command %q\n\n", args[0])
		topUsage(stderr)
		return 2
	}
	err := c.run(e, args[1:])
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "seatkey %s: %v\nRun 'seatkey %s --help' for usage.\n", args[0], err, args[0])
		return 2
	default:
		fmt.Fprintf(stderr, "seatkey %s: %v\n", args[0], err)
		return 1
	}
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "seatkey: offline-verifiable, per-machine software licenses\n\nUsage: seatkey <command> [flags] [args]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'seatkey <command> --help' for a command's flags.")
}

// flags returns a flag set whose --help prints synopsis, description and flags.
func (e *env) flags(name, synopsis, about string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(e.stdout, "Usage: seatkey %s %s\n\n%s\n\nFlags:\n%s", name, synopsis, strings.TrimSpace(about), fs.FlagUsages())
	}
	return fs
}

// parse parses flags; errors other than --help become usage errors.
func parse(fs *pflag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fs.Usage()
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}
