package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const fixtures = "../../machine/testdata/hw/"

func TestFingerprintCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "srv.fp")
	r := runCLI(t, nil, "fingerprint", "--root", fixtures+"server", "--scope", "ledgerpro", "-o", out)
	if r.code != 0 || !strings.Contains(r.stdout, "board-serial") {
		t.Fatalf("fingerprint: %+v", r)
	}
	const serial = "7XK2PL3" // the fixture server's service tag
	saved, _ := os.ReadFile(out)
	if strings.Contains(r.stdout, serial) || strings.Contains(string(saved), serial) {
		t.Fatal("raw serial printed or saved without --show-raw")
	}
	if r := runCLI(t, nil, "fingerprint", "--root", fixtures+"server", "--show-raw"); !strings.Contains(r.stdout, serial) {
		t.Fatal("--show-raw does not show raw values")
	}
	r = runCLI(t, nil, "fingerprint", "--root", fixtures+"server", "--json")
	var j map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j["raw"] != nil || len(j["components"].(map[string]any)["disks"].([]any)) != 2 {
		t.Fatalf("json: %v %s", err, r.stdout)
	}
	if r := runCLI(t, nil, "fingerprint", "--root", fixtures+"server", "--compare", out); r.code != 0 || !strings.Contains(r.stdout, "same device") {
		t.Fatalf("compare with itself: %+v", r)
	}
	r = runCLI(t, nil, "fingerprint", "--root", fixtures+"laptop", "--compare", out, "--json")
	if r.code != 1 || !strings.Contains(r.stderr, "new device") || !strings.Contains(r.stdout, `"same_device": false`) {
		t.Fatalf("compare with another machine: %+v", r)
	}
	os.WriteFile(out, []byte("-----BEGIN SEATKEY FINGERPRINT-----\nAAAA\n-----END SEATKEY FINGERPRINT-----\n"), 0o644)
	if r := runCLI(t, nil, "fingerprint", "--compare", out); r.code != 1 || !strings.Contains(r.stderr, "CBOR") {
		t.Fatalf("damaged fingerprint file: %+v", r)
	}
	if r := runCLI(t, nil, "fingerprint", "extra"); r.code != 2 {
		t.Fatalf("bad usage: %+v", r)
	}
}
