package depcheck

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are import paths (or their prefixes, ending in "/") that a
// verify-only program must never link: hardware readers, HTTP, process
// execution, SQL and its drivers, and seatkey's own issuing side.
var forbidden = []string{
	"github.com/jaypipes/ghw", "github.com/jaypipes/ghw/",
	"github.com/jaypipes/pcidb", "github.com/jaypipes/pcidb/",
	"github.com/google/go-tpm/",
	"github.com/yusufpapurcu/wmi", "github.com/go-ole/go-ole", "github.com/go-ole/go-ole/",
	"gopkg.in/yaml.v3",
	"net/http", "net/http/",
	"os/exec",
	"database/sql", "database/sql/",
	"modernc.org/sqlite", "modernc.org/sqlite/", "modernc.org/libc", "github.com/mattn/go-sqlite3",
	"github.com/jackc/pgx/", "github.com/lib/pq",
	"github.com/seatkey/seatkey/machine",
	"github.com/seatkey/seatkey/issuer", "github.com/seatkey/seatkey/issuer/",
	"github.com/seatkey/seatkey/server", "github.com/seatkey/seatkey/server/",
	"github.com/seatkey/seatkey/client", "github.com/seatkey/seatkey/client/",
}

// forbiddenWithHardware is what a program that verifies activations, and so
// reads this machine through package machine, must still never link: SQL
// and its drivers and seatkey's issuing and serving side. (ghw links the PCI
// database and through it net/http, which the fingerprint never calls.)
var forbiddenWithHardware = []string{
	"database/sql", "database/sql/",
	"modernc.org/sqlite", "modernc.org/sqlite/", "modernc.org/libc", "github.com/mattn/go-sqlite3",
	"github.com/jackc/pgx/", "github.com/lib/pq",
	"github.com/seatkey/seatkey/issuer", "github.com/seatkey/seatkey/issuer/",
	"github.com/seatkey/seatkey/server", "github.com/seatkey/seatkey/server/",
	"github.com/seatkey/seatkey/client", "github.com/seatkey/seatkey/client/",
	"github.com/seatkey/seatkey/portal", "github.com/seatkey/seatkey/portal/",
}

func isForbidden(path string) bool { return matches(forbidden, path) }

func matches(list []string, path string) bool {
	for _, f := range list {
		if path == f || strings.HasSuffix(f, "/") && strings.HasPrefix(path, f) {
			return true
		}
	}
	return false
}

// goTool finds the go command: the tests run it; CI must have it.
func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the go command is needed to list dependencies: %v", err)
		}
		t.Skipf("no go command to list dependencies with: %v", err)
	}
	return p
}

// deps lists every package pkg links when built for goos/goarch.
func deps(t *testing.T, goTool, pkg, goos, goarch string) []string {
	t.Helper()
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", pkg)
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %s for %s/%s: %v\n%s", pkg, goos, goarch, err, msg)
	}
	return strings.Fields(string(out))
}

// TestVerifyOnlyLinksNoReader lists the dependencies of the example vendor
// application and of a program importing only verifier, license, activation
// and fingerprint, for each OS vendors ship to, and fails on any forbidden one.
func TestVerifyOnlyLinksNoReader(t *testing.T) {
	gt := goTool(t)
	programs := map[string][]string{
		// Verifies licenses only: no hardware reader either.
		"./testdata/verifyonly": forbidden,
		// Verifies activations too, so it reads this machine.
		"github.com/seatkey/seatkey/examples/vendorapp": forbiddenWithHardware,
	}
	targets := [][2]string{{"linux", "amd64"}, {"windows", "amd64"}, {"darwin", "arm64"}}
	for prog, banned := range programs {
		for _, tg := range targets {
			t.Run(prog+"@"+tg[0]+"/"+tg[1], func(t *testing.T) {
				list := deps(t, gt, prog, tg[0], tg[1])
				seen := map[string]bool{}
				for _, p := range list {
					seen[p] = true
					if matches(banned, p) {
						t.Errorf("%s links %s on %s", prog, p, tg[0])
					}
				}
				// The list must be the real one: the program's own imports are in it.
				for _, want := range []string{"github.com/seatkey/seatkey/verifier", "github.com/seatkey/seatkey/license"} {
					if !seen[want] {
						t.Errorf("%s: %s missing from its dependencies: the listing is wrong", prog, want)
					}
				}
			})
		}
	}
}

// The check itself catches what it is for: a program importing the hardware
// reader is refused.
func TestForbiddenIsCaught(t *testing.T) {
	gt := goTool(t)
	var bad []string
	for _, p := range deps(t, gt, "github.com/seatkey/seatkey/machine", "windows", "amd64") {
		if isForbidden(p) {
			bad = append(bad, p)
		}
	}
	for _, want := range []string{"github.com/yusufpapurcu/wmi", "github.com/google/go-tpm/tpm2/transport/windowstpm"} {
		found := false
		for _, b := range bad {
			found = found || b == want
		}
		if !found {
			t.Errorf("machine for windows should link %s and be refused; refused only %v", want, bad)
		}
	}
	if !isForbidden("github.com/seatkey/seatkey/issuer") || !isForbidden("net/http") || isForbidden("net/netip") || isForbidden("github.com/seatkey/seatkey/verifier") {
		t.Error("isForbidden matches the wrong paths")
	}
}
