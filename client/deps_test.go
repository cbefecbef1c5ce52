package client

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Vendor applications import this package: it must not pull in the server,
// the issuer, SQL or hardware readers.
func TestDependencies(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("go tool not found")
		}
		t.Skip("go tool not found: cannot list dependencies")
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"seatkey/issuer", "seatkey/server", "seatkey/machine", "database/sql", "sqlite", "ghw", "go-tpm", "prometheus"} {
			if strings.Contains(dep, bad) {
				t.Errorf("package client depends on %s", dep)
			}
		}
	}
	if !strings.Contains(string(out), "github.com/seatkey/seatkey/verifier") {
		t.Fatal("dependency list looks wrong:\n" + string(out))
	}
}
