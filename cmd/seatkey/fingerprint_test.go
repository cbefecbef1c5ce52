package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/internal/testhw"
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

// --compare judges a VM by its hypervisor identity (fingerprint.PolicyFor):
// the AWS fixture resized onto another processor is the same device, which
// the physical rule would call new.
func TestFingerprintCompareVM(t *testing.T) {
	dir := t.TempDir()
	saved := filepath.Join(dir, "ec2.fp")
	if r := runCLI(t, nil, "fingerprint", "--root", fixtures+"aws", "--tpm", "none", "-o", saved); r.code != 0 {
		t.Fatalf("fingerprint: %+v", r)
	}
	resized := testhw.CopyTree(t, fixtures+"aws")
	cpuinfo := filepath.Join(resized, "proc", "cpuinfo")
	b, err := os.ReadFile(cpuinfo)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), "Platinum 8175M CPU @ 2.50GHz", "Platinum 8375C CPU @ 2.90GHz"))
	if err := os.WriteFile(cpuinfo, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "fingerprint", "--root", resized, "--tpm", "none", "--compare", saved)
	if r.code != 0 || !strings.Contains(r.stdout, "same device") || !strings.Contains(r.stdout, "cpu") {
		t.Fatalf("resized EC2 instance: %+v", r)
	}
}
