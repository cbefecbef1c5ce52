// Command seatkey is the vendor's tool for offline-verifiable, per-machine
// licenses, and the customer's for activation requests:
//
//	seatkey <command> [flags] [args]
//
// Keys and licenses:
//
//	keygen        create a signing key pair (encrypted; 0600)
//	mint          sign a new license (and record it in the ledger)
//	export        write a license recorded in the ledger again
//	inspect       show what any seatkey file says
//	verify        verify a license (and activation) as an application would
//
// Machines and activation:
//
//	fingerprint   show this machine's hardware fingerprint, or compare it
//	request       write an activation request for this machine
//	activate      activate any number of requests against the ledger
//	return        give a TPM-bound device's seat back (a signed proof; its key deleted)
//
// The ledger:
//
//	ledger init   create a new, empty ledger (0600); ledger copy: into a new one
//	devices       list the ledger's devices
//	decommission  free the seats of devices, by ID or label
//	report        usage report: device rows or license summaries (CSV or JSON)
//	notify        deliver pending usage notifications (webhook or email)
//	unsuspend     lift a customer's suspension
//	revoke        revoke licenses, activations or signing keys
//	unrevoke      take revocations back
//	crl           publish the next signed revocation list
//
// The license lifecycle:
//
//	release add   record a product release; legacy majors get no new minor
//	releases      the release catalog, legacy marks, what a license may run
//	renew         re-issue a license with a later expiry or protection
//	upgrade       re-issue at a higher edition or more seats, priced as the difference
//	transfer      move a license to another customer, with recorded consent
//	sweep         apply the time-based rules (migration grace, fraud flags)
//	audit         show or verify the tamper-evident audit log
//
// Online (API.md):
//
//	serve         run the licensing server over the same ledger and rules
//	token         create, list or revoke the vendor's API tokens
//	online        the device side: activate, check in, return a seat, fetch lists
//	operator add  an operator account for the portal that serve runs (PORTAL.md)
//
// And demo, the whole flow end to end in a temporary directory.
//
// Exit status, the same for every command: 0 done, or already so (revoking
// what is revoked, decommissioning what is decommissioned); 1 refused or
// failed, with the reason on standard error; 2 bad usage (an unknown
// command or flag, a missing argument, a malformed ID or date).
//
// Every output file is refused if it exists unless --force is given, and is
// written to a new temporary file first. Customer text shown on a terminal
// (labels, names, file names) has its control characters escaped.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// command is one row of the command table.
type command struct {
	name, summary string
	run           func(e *env, args []string) error
}

// commandTable lists every command, in the order usage shows them. It is a
// function, not a variable, because demo runs commands through it.
func commandTable() []command {
	return []command{
		{"keygen", "create a signing key pair", cmdKeygen},
		{"mint", "sign a new license", cmdMint},
		{"export", "write a license recorded in the ledger again", cmdExport},
		{"inspect", "show what a seatkey file says", cmdInspect},
		{"verify", "verify a license as a vendor application would", cmdVerify},
		{"fingerprint", "show this machine's hardware fingerprint, or compare it with a saved one", cmdFingerprint},
		{"request", "write an activation request for this machine", cmdRequest},
		{"activate", "activate any number of requests against the ledger", cmdActivate},
		{"return", "give a TPM-bound device's seat back: a signed proof, the TPM key deleted", cmdReturn},
		{"ledger", "create a ledger (ledger init) or copy one (ledger copy)", cmdLedger},
		{"devices", "list the devices in the ledger", cmdDevices},
		{"decommission", "free the seats of devices", cmdDecommission},
		{"report", "usage report: device rows or license summaries", cmdReport},
		{"notify", "deliver the ledger's pending notifications (webhook or email)", cmdNotify},
		{"unsuspend", "lift a customer's suspension", cmdUnsuspend},
		{"revoke", "revoke licenses, activations or signing keys (recorded in the ledger)", cmdRevoke},
		{"unrevoke", "take revocations back (recorded; the next list omits them)", cmdUnrevoke},
		{"crl", "publish the next signed revocation list", cmdCRL},
		{"release", "record a product release in the catalog (release add)", cmdRelease},
		{"releases", "list a product's releases, legacy majors and what a license may run", cmdReleases},
		{"renew", "re-issue a license with a later expiry or upgrade protection", cmdRenew},
		{"upgrade", "re-issue a license at a higher edition or with more seats, priced as the difference", cmdUpgrade},
		{"transfer", "move a license to another customer, with recorded consent", cmdTransfer},
		{"sweep", "apply the time-based rules (migration grace, fraud flags); daily", cmdSweep},
		{"audit", "show or verify the ledger's tamper-evident audit log", cmdAudit},
		{"serve", "run the licensing server (online activation, check-ins, vendor API)", cmdServe},
		{"token", "create, list or revoke vendor API tokens for 'seatkey serve'", cmdToken},
		{"online", "talk to a licensing server from this machine: activate, checkin, return, crl", cmdOnline},
		{"operator", "manage the customer portal's operator accounts (operator add)", cmdOperator},
		{"demo", "run the whole flow end to end in a temporary directory", cmdDemo},
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commandTable() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func main() {
	stdin := int(os.Stdin.Fd())
	e := &env{
		stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin, getenv: os.Getenv, now: time.Now,
		terminal:     func() bool { return term.IsTerminal(stdin) },
		readPassword: func() ([]byte, error) { return term.ReadPassword(stdin) },
	}
	os.Exit(e.run(os.Args[1:]))
}

// run runs one command line with the given streams and environment, no
// terminal and the real clock (tests and demo use it).
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, stdin: strings.NewReader(""), getenv: getenv, now: time.Now,
		terminal:     func() bool { return false },
		readPassword: func() ([]byte, error) { return nil, errors.New("no terminal") }}
	return e.run(args)
}

// run runs one command line and returns the exit status.
func (e *env) run(args []string) int {
	// What reaches the terminal is escaped; see escape.go.
	out, errw := &escapingWriter{w: e.stdout}, &escapingWriter{w: e.stderr}
	defer out.flush()
	defer errw.flush()
	e2 := *e
	e2.stdout, e2.stderr = out, errw
	e = &e2

	if len(args) == 0 {
		topUsage(e.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) == 1 {
			topUsage(e.stdout)
			return 0
		}
		args = []string{args[1], "--help"}
	case "--version", "version":
		fmt.Fprintf(e.stdout, "seatkey %s\n", version())
		return 0
	}
	c, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(e.stderr, "seatkey: unknown command %q", args[0])
		if s := suggest(args[0]); s != "" {
			fmt.Fprintf(e.stderr, "; did you mean %q?", s)
		}
		fmt.Fprintln(e.stderr, "\nRun 'seatkey --help' for the list of commands.")
		return 2
	}
	err := c.run(e, args[1:])
	var ue usageError
	switch {
	case err == nil, errors.Is(err, pflag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "seatkey %s: %v\nRun 'seatkey %s --help' for usage.\n", c.name, err, c.name)
		return 2
	default:
		fmt.Fprintf(e.stderr, "seatkey %s: %v\n", c.name, err)
		return 1
	}
}

func topUsage(w io.Writer) {
	fmt.Fprintln(w, "seatkey: offline-verifiable, per-machine software licenses\n\nUsage: seatkey <command> [flags] [args]\n\nCommands:")
	for _, c := range commandTable() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'seatkey <command> --help' for a command's flags; 'seatkey --version' for the version.\nExit status: 0 done (or already so), 1 refused or failed, 2 bad usage.")
}

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// suggest returns the command closest to a mistyped name, if any is close.
func suggest(name string) string {
	best, bestD := "", 3
	for _, c := range commandTable() {
		d := editDistance(strings.ToLower(name), c.name)
		if strings.HasPrefix(c.name, strings.ToLower(name)) && len(name) >= 3 {
			d = 1
		}
		if d < bestD {
			best, bestD = c.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
