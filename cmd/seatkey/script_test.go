package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary run as the seatkey command inside scripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"seatkey": main})
}

// TestScripts runs testdata/script/*.txtar: one script per command of the
// README's command table, each a session a reader can follow, asserting
// outputs and exit codes. $HW is the fixture machines' directory.
func TestScripts(t *testing.T) {
	hw, err := filepath.Abs(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: false,
		Setup: func(e *testscript.Env) error {
			e.Setenv("HW", hw)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// capture VAR REGEXP sets $VAR to REGEXP's first group (or
			// match) in the last command's standard output.
			"capture": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: capture VAR REGEXP")
				}
				m := regexp.MustCompile(args[1]).FindStringSubmatch(ts.ReadFile("stdout"))
				if m == nil {
					ts.Fatalf("capture: %q not in stdout", args[1])
				}
				ts.Setenv(args[0], m[len(m)-1])
			},
			// mode FILE PERM checks a file's permission bits.
			"mode": func(ts *testscript.TestScript, neg bool, args []string) {
				st, err := os.Stat(ts.MkAbs(args[0]))
				ts.Check(err)
				if got := st.Mode().Perm().String(); (got == args[1]) == neg {
					ts.Fatalf("%s: mode %s, want %s%s", args[0], got, map[bool]string{true: "not "}[neg], args[1])
				}
			},
		},
	})
}
