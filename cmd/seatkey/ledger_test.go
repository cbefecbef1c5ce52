package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The activation flow through the CLI, with fixture machines as hardware.
func TestActivationFlowCLI(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	db := p("ledger.db")
	if r := runCLI(t, nil, "ledger", "init", "--ledger", db); r.code != 0 {
		t.Fatalf("ledger init: %+v", r)
	}
	if r := runCLI(t, nil, "keygen", "--unencrypted", "-o", p("v")); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCLI(t, nil, "mint", "--key", p("v.key"), "--product", "ledgerpro", "--customer", "Globex", "--edition", "pro", "--seats", "1",
		"--expires", "2099-01-01", "--ledger", db, "--overage", "allow", "--overage-price", "49.99", "--contact", "it@globex.example", "-o", p("l.lic")); r.code != 0 {
		t.Fatalf("mint: %+v", r)
	}
	if r := runCLI(t, nil, "mint", "--key", p("v.key"), "--product", "p", "--customer", "c", "--edition", "e", "--seats", "1",
		"--expires", "2099-01-01", "--overage", "maybe", "-o", p("x.lic")); r.code != 2 {
		t.Fatalf("bad --overage: %+v", r)
	}
	for _, m := range []string{"server", "laptop"} {
		if r := runCLI(t, nil, "request", "--license", p("l.lic"), "--root", fixtures+m, "--label", m, "-o", p(m+".req")); r.code != 0 {
			t.Fatalf("request %s: %+v", m, r)
		}
	}
	r := runCLI(t, nil, "activate", "--key", p("v.key"), "--ledger", db, "-o", p("acts"), p("server.req"), p("laptop.req"), p("missing.req"))
	if r.code != 1 || !strings.Contains(r.stdout, "new-device") || !strings.Contains(r.stdout, "OVERAGE") || !strings.Contains(r.stdout, "missing.req: refused") ||
		!strings.Contains(r.stderr, "3 requests: 2 new-device, 1 refused") {
		t.Fatalf("activate: %+v", r)
	}
	acts, _ := filepath.Glob(p("acts/*.act"))
	if len(acts) != 2 {
		t.Fatalf("activation files: %v", acts)
	}
	for file, want := range map[string]string{acts[0]: `"type": "activation"`, p("server.req"): `"label": "server"`} {
		if r := runCLI(t, nil, "inspect", "--json", file); r.code != 0 || !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "board-serial") {
			t.Fatalf("inspect %s: %+v", file, r)
		}
	}
	r = runCLI(t, nil, "devices", "--ledger", db, "--json")
	var devs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &devs); err != nil || len(devs) != 2 || devs[0]["status"] != "active" || !strings.HasPrefix(devs[0]["id"].(string), "dev_") {
		t.Fatalf("devices: %v %s", err, r.stdout)
	}
	// The server's activation verifies on the server and not on the laptop.
	var serverAct string
	for _, a := range acts {
		if strings.Contains(a, devs[0]["id"].(string)) && devs[0]["label"] == "server" || strings.Contains(a, devs[1]["id"].(string)) && devs[1]["label"] == "server" {
			serverAct = a
		}
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledgerpro", "--activation", serverAct, "--root", fixtures+"server", p("l.lic")); r.code != 0 {
		t.Fatalf("verify on the server: %+v", r)
	}
	r = runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledgerpro", "--activation", serverAct, "--root", fixtures+"laptop", p("l.lic"))
	if r.code != 1 || !strings.Contains(r.stderr, "not the activated device") || !strings.Contains(r.stderr, "decides identity") {
		t.Fatalf("verify on the laptop: %+v", r)
	}
	r = runCLI(t, nil, "report", "--ledger", db, "--csv")
	if r.code != 0 || !strings.Contains(r.stdout, ",true,49.99\n") || strings.Contains(r.stdout, ",1,2,1,49.99\n") {
		t.Fatalf("report: %+v", r)
	}
	r = runCLI(t, nil, "report", "--ledger", db, "--csv=summary")
	if r.code != 0 || !strings.HasSuffix(r.stdout, ",1,2,1,49.99\n") || strings.Contains(r.stdout, ",true,49.99\n") {
		t.Fatalf("report summary: %+v", r)
	}
	if r := runCLI(t, nil, "report", "--ledger", db); r.code != 2 {
		t.Fatalf("report without format: %+v", r)
	}
	id := devs[0]["id"].(string)
	if r := runCLI(t, nil, "decommission", "--ledger", db, id); r.code != 0 || !strings.Contains(r.stdout, "decommissioned") {
		t.Fatalf("decommission: %+v", r)
	}
	if r := runCLI(t, nil, "decommission", "--ledger", db, id); r.code != 0 || !strings.Contains(r.stdout, "already decommissioned") {
		t.Fatalf("second decommission: %+v", r)
	}
	if r := runCLI(t, nil, "decommission", "--ledger", db, "dev_nope"); r.code != 2 {
		t.Fatalf("bad device id: %+v", r)
	}
	if r := runCLI(t, nil, "unsuspend", "--ledger", db, "Nobody"); r.code != 1 {
		t.Fatalf("unsuspend unknown: %+v", r)
	}
}

func TestNotifyCLI(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	db := p("ledger.db")
	if r := runCLI(t, nil, "ledger", "init", "--ledger", db); r.code != 0 {
		t.Fatalf("ledger init: %+v", r)
	}
	runCLI(t, nil, "keygen", "--unencrypted", "-o", p("v"))
	runCLI(t, nil, "mint", "--key", p("v.key"), "--product", "ledgerpro", "--customer", "Globex", "--edition", "pro", "--seats", "1",
		"--expires", "2099-01-01", "--ledger", db, "--contact", "it@globex.example", "-o", p("l.lic"))
	runCLI(t, nil, "request", "--license", p("l.lic"), "--root", fixtures+"server", "-o", p("s.req"))
	if r := runCLI(t, nil, "activate", "--key", p("v.key"), "--ledger", db, "-o", dir, p("s.req")); r.code != 0 {
		t.Fatal(r)
	}
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		json.NewDecoder(r.Body).Decode(&b)
		got = append(got, b["kind"].(string)+" to "+b["recipient"].(string))
	}))
	defer srv.Close()
	os.WriteFile(p("hook.secret"), []byte("a webhook secret of 32 bytes...\n"), 0o600) // webhooks are always signed
	if r := runCLI(t, nil, "notify", "--ledger", db, "--webhook", srv.URL, "--webhook-secret-file", p("hook.secret"), "--json"); r.code != 0 || !strings.Contains(r.stdout, `"delivered": 1`) {
		t.Fatalf("notify: %+v", r)
	}
	if strings.Join(got, ";") != "usage-full to it@globex.example" { // one seat: 90% and 100% at once, one notice
		t.Fatalf("webhook got %v", got)
	}
	if r := runCLI(t, nil, "notify", "--ledger", db, "--webhook", srv.URL, "--webhook-secret-file", p("hook.secret")); r.code != 0 || !strings.Contains(r.stdout, "0 delivered") {
		t.Fatalf("second run must deliver nothing twice: %+v", r)
	}
	if r := runCLI(t, nil, "notify", "--ledger", db, "--smtp", "localhost:25"); r.code != 2 {
		t.Fatalf("smtp without --from: %+v", r)
	}
}
