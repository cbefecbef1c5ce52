package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/issuer"
)

func TestOperatorAdd(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ledger.db")
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("correct horse battery\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "ledger", "init", "--ledger", db); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCLI(t, nil, "operator", "add", "--ledger", db, "--name", "alice", "--password-file", pw); r.code != 0 || !strings.Contains(r.stdout, "alice added (read-write)") {
		t.Fatalf("add: %+v", r)
	}
	if r := runCLI(t, nil, "operator", "add", "--ledger", db, "--name", "bob", "--read-only", "--password-file", pw, "--json"); r.code != 0 || !strings.Contains(r.stdout, `"read_only": true`) {
		t.Fatalf("add read-only: %+v", r)
	}
	for name, c := range map[string]struct {
		args []string
		code int
		want string
	}{
		"duplicate":   {[]string{"operator", "add", "--ledger", db, "--name", "alice", "--password-file", pw}, 1, "exists"},
		"bad name":    {[]string{"operator", "add", "--ledger", db, "--name", "a b", "--password-file", pw}, 1, "operator name"},
		"no name":     {[]string{"operator", "add", "--ledger", db, "--password-file", pw}, 2, "--name"},
		"no add":      {[]string{"operator", "--ledger", db}, 2, "subcommand"},
		"no terminal": {[]string{"operator", "add", "--ledger", db, "--name", "carol"}, 2, "password-file"},
	} {
		r := runCLI(t, nil, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, %q", name, r.code, r.stderr)
		}
	}
	// A password file others can read is refused; so is a short password.
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("correct horse battery"), 0o644)
	if r := runCLI(t, nil, "operator", "add", "--ledger", db, "--name", "dave", "--password-file", open); r.code != 1 || !strings.Contains(r.stderr, "chmod 600") {
		t.Errorf("0644 file: %+v", r)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("hunter2"), 0o600)
	if r := runCLI(t, nil, "operator", "add", "--ledger", db, "--name", "erin", "--password-file", short); r.code != 1 || !strings.Contains(r.stderr, "at least 12") {
		t.Errorf("short password: %+v", r)
	}
	l, err := issuer.OpenLedger(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if ro, err := l.CheckOperator("alice", []byte("correct horse battery")); err != nil || ro {
		t.Errorf("alice: %v %v", ro, err)
	}
	if ro, err := l.CheckOperator("bob", []byte("correct horse battery")); err != nil || !ro {
		t.Errorf("bob: %v %v", ro, err)
	}
	if _, err := l.CheckOperator("alice", []byte("correct horse battery\n")); err == nil {
		t.Errorf("a password with a line break matched")
	}
}
