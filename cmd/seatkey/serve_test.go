package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// serve → online activation of a request file made by 'seatkey request' →
// the saved answer verifies offline with 'seatkey verify'; a vendor token
// made by 'seatkey token create' reads the customers; cancelling stops it.
func TestServeCLI(t *testing.T) {
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	db := p("ledger.db")
	if r := runCLI(t, nil, "keygen", "--unencrypted", "-o", p("v")); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCLI(t, nil, "ledger", "init", "--ledger", db); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCLI(t, nil, "mint", "--key", p("v.key"), "--product", "ledgerpro", "--customer", "Globex", "--edition", "pro", "--seats", "1",
		"--expires", "2099-01-01", "--ledger", db, "--migration-grace", "0", "-o", p("l.lic")); r.code != 0 {
		t.Fatalf("mint: %+v", r)
	}
	tok := runCLI(t, nil, "token", "create", "--ledger", db, "--name", "billing", "--scope", "read")
	secret := strings.TrimSpace(tok.stdout)
	if tok.code != 0 || !strings.HasPrefix(secret, "skt_") || strings.Contains(tok.stderr, secret) {
		t.Fatalf("token create: %+v", tok)
	}
	if r := runCLI(t, nil, "token", "create", "--ledger", db, "--name", "billing", "--scope", "read"); r.code != 1 {
		t.Fatalf("duplicate name: %+v", r)
	}
	if r := runCLI(t, nil, "token", "create", "--ledger", db, "--name", "x", "--scope", "admin"); r.code != 2 {
		t.Fatalf("bad scope: %+v", r)
	}
	if r := runCLI(t, nil, "token", "create", "--ledger", db, "--name", "temp", "--scope", "write", "--valid-for", "1h"); r.code != 0 {
		t.Fatalf("token create --valid-for: %+v", r)
	}
	if r := runCLI(t, nil, "token", "list", "--ledger", db); r.code != 0 || !strings.Contains(r.stdout, `"billing"`) || strings.Contains(r.stdout, secret) ||
		!strings.Contains(r.stdout, "never expires") || !strings.Contains(r.stdout, "live    created") {
		t.Fatalf("token list: %+v", r)
	}
	if r := runCLI(t, nil, "request", "--license", p("l.lic"), "--root", fixtures+"server", "--label", "server", "-o", p("server.req")); r.code != 0 {
		t.Fatalf("request: %+v", r)
	}
	if r := runCLI(t, nil, "mint", "--key", p("v.key"), "--product", "ledgerpro", "--customer", "Initech", "--edition", "pro", "--seats", "1",
		"--expires", "2099-01-01", "--ledger", db, "--lease", "7d", "-o", p("leased.lic")); r.code != 0 {
		t.Fatalf("mint --lease: %+v", r)
	}

	ctx, cancel := context.WithCancel(context.Background())
	serveContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"serve", "--ledger", db, "--key", p("v.key"), "--listen", "127.0.0.1:0"}, io.Discard, &stderr, func(string) string { return "" })
	}()
	addr := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
	}
	if base == "" {
		t.Fatalf("server did not start: %s", stderr.String())
	}
	req, _ := os.ReadFile(p("server.req"))
	resp, err := http.Post(base+"/v1/activations", "text/plain", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	act, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("activate: %d %s", resp.StatusCode, act)
	}
	os.WriteFile(p("server.act"), act, 0o644)
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledgerpro", "--activation", p("server.act"), "--root", fixtures+"server", p("l.lic")); r.code != 0 {
		t.Fatalf("the online activation does not verify offline: %+v", r)
	}
	// The same through 'seatkey online' on the laptop: no seat left (one-seat license).
	if r := runCLI(t, nil, "online", "activate", "--server", base, "--license", p("l.lic"), "--root", fixtures+"laptop", "--pub", p("v.pub"), "-o", p("laptop.act")); r.code != 1 || !strings.Contains(r.stderr, "seats_exhausted") {
		t.Fatalf("online activate on a full license: %+v", r)
	}
	if r := runCLI(t, nil, "online", "checkin", "--server", base, "--license", p("l.lic"), "--activation", p("server.act"), "--root", fixtures+"server"); r.code != 0 || !strings.Contains(r.stdout, "1 check-ins") {
		t.Fatalf("online checkin: %+v", r)
	}
	if r := runCLI(t, nil, "online", "checkin", "--server", base, "--license", p("l.lic"), "--activation", p("server.act"), "--root", fixtures+"laptop"); r.code != 1 || !strings.Contains(r.stderr, "device_mismatch") {
		t.Fatalf("online checkin from the laptop: %+v", r)
	}
	if r := runCLI(t, nil, "online", "return", "--server", base, "--license", p("l.lic"), "--activation", p("server.act"), "--root", fixtures+"server"); r.code != 0 {
		t.Fatalf("online return: %+v", r)
	}
	if r := runCLI(t, nil, "online", "activate", "--server", base, "--license", p("l.lic"), "--root", fixtures+"laptop", "--pub", p("v.pub"), "-o", p("laptop.act"), "--json"); r.code != 0 || !strings.Contains(r.stdout, `"outcome": "new-device"`) {
		t.Fatalf("online activate after the return: %+v", r)
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledgerpro", "--activation", p("laptop.act"), "--root", fixtures+"laptop", p("l.lic")); r.code != 0 {
		t.Fatalf("online activation does not verify offline: %+v", r)
	}
	// A leased license: the check-in renews the lease and replaces the file.
	if r := runCLI(t, nil, "online", "activate", "--server", base, "--license", p("leased.lic"), "--root", fixtures+"vmware", "--pub", p("v.pub"), "-o", p("leased.act")); r.code != 0 {
		t.Fatalf("online activate, leased: %+v", r)
	}
	first, _ := os.ReadFile(p("leased.act"))
	time.Sleep(1100 * time.Millisecond) // a new iat
	if r := runCLI(t, nil, "online", "checkin", "--server", base, "--license", p("leased.lic"), "--activation", p("leased.act"), "--root", fixtures+"vmware", "--pub", p("v.pub")); r.code != 0 || !strings.Contains(r.stdout, "lease renewed until") {
		t.Fatalf("online checkin, leased: %+v", r)
	}
	if renewed, _ := os.ReadFile(p("leased.act")); bytes.Equal(renewed, first) {
		t.Fatal("the refreshed activation was not saved")
	}
	if r := runCLI(t, nil, "inspect", p("leased.act")); r.code != 0 || !strings.Contains(r.stdout, "expires") {
		t.Fatalf("inspect the renewed activation: %+v", r)
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledgerpro", "--activation", p("leased.act"), "--root", fixtures+"vmware", p("leased.lic")); r.code != 0 {
		t.Fatalf("the renewed activation does not verify offline: %+v", r)
	}
	if r := runCLI(t, nil, "online", "crl", "--server", base, "--pub", p("v.pub"), "-o", p("x.crl")); r.code != 1 || !strings.Contains(r.stderr, "no_revocation_list") {
		t.Fatalf("online crl before any list: %+v", r)
	}
	// A vendor publishes a list through the API; the machine fetches and verifies it.
	wtok := runCLI(t, nil, "token", "create", "--ledger", db, "--name", "ops", "--scope", "write")
	pr, _ := http.NewRequest("POST", base+"/v1/revocations/publish", nil)
	pr.Header.Set("Authorization", "Bearer "+strings.TrimSpace(wtok.stdout))
	if resp, err := http.DefaultClient.Do(pr); err != nil || resp.StatusCode != 201 {
		t.Fatalf("publish: %v %v", resp, err)
	}
	if r := runCLI(t, nil, "online", "crl", "--server", base, "--pub", p("v.pub"), "-o", p("x.crl")); r.code != 0 || !strings.Contains(r.stderr, "revocation list 1") {
		t.Fatalf("online crl: %+v", r)
	}
	if r := runCLI(t, nil, "verify", "--pub", p("v.pub"), "--product", "ledgerpro", "--crl", p("x.crl"), p("l.lic")); r.code != 0 {
		t.Fatalf("verify with the fetched list: %+v", r)
	}
	hr, _ := http.NewRequest("GET", base+"/v1/customers", nil)
	hr.Header.Set("Authorization", "Bearer "+secret)
	resp, err = http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"Globex"`) {
		t.Fatalf("customers: %d %s", resp.StatusCode, body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, stderr.String())
	}
	if log := stderr.String(); !strings.Contains(log, "route=\"POST /v1/activations\" status=201") || strings.Contains(log, secret) {
		t.Fatalf("log: %s", log)
	}
	// A PostgreSQL ledger that cannot be reached: refused at start, and the
	// password in the URL is not repeated.
	if r := runCLI(t, nil, "serve", "--ledger", "postgres://seatkey:hunter2@127.0.0.1:1/seatkey?connect_timeout=2", "--key", p("v.key")); r.code != 1 ||
		!strings.Contains(r.stderr, "127.0.0.1:1") || strings.Contains(r.stderr+r.stdout, "hunter2") {
		t.Fatalf("unreachable postgres DSN: %+v", r)
	}
	if _, err := os.Stat("postgres:"); err == nil {
		t.Fatal("a postgres DSN created a file")
	}
	if r := runCLI(t, nil, "serve", "--ledger", db, "--key", p("v.key"), "--tls-cert", "x"); r.code != 2 {
		t.Fatalf("--tls-cert alone: %+v", r)
	}
}
