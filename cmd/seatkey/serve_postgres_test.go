package main

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seatkey/seatkey/internal/pgtest"
)

// balancer is a TCP load balancer on loopback, as a vendor puts in front of
// several instances: each connection goes to the next backend in turn, or
// to the one after it if that one refuses.
type balancer struct {
	ln       net.Listener
	backends []string
	next     atomic.Int64
	served   []atomic.Int64 // connections per backend
}

func newBalancer(t *testing.T, backends ...string) *balancer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, backends: backends, served: make([]atomic.Int64, len(backends))}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.proxy(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return b
}

func (b *balancer) proxy(c net.Conn) {
	defer c.Close()
	first := int(b.next.Add(1))
	for i := range b.backends {
		j := (first + i) % len(b.backends)
		up, err := net.DialTimeout("tcp", b.backends[j], time.Second)
		if err != nil {
			continue
		}
		b.served[j].Add(1)
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
		go func() { io.Copy(c, up); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
		<-done
		<-done
		up.Close()
		return
	}
}

// Two seatkey serve instances on one PostgreSQL ledger behind a balancer,
// 60 devices activating against 40 seats. In the middle of the load one
// instance is killed with SIGKILL (it is not started again) and then the
// database is restarted. Every client's retries complete; afterwards every
// seat is accounted for exactly once: each client that was granted a seat
// holds a device the ledger has, the ledger has no device no client was
// given, no seat is oversold, and the audit chain written by both instances
// verifies.
func TestServeTwoInstancesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the seatkey binary and runs two instances on a PostgreSQL server")
	}
	pg := pgtest.Own(t) // its own server: this test restarts it
	dsn := pg.NewDatabase(t)
	const clients, seats = 60, 40
	bin, keyFile, lic := serveRig(t, dsn, seats)

	a, urlA := startServe(t, bin, dsn, keyFile, "127.0.0.1:0")
	b, urlB, logB := startServeLog(t, bin, dsn, keyFile, "127.0.0.1:0")
	defer func() { b.Process.Kill(); b.Wait() }()
	lb := newBalancer(t, urlA[len("http://"):], urlB[len("http://"):])

	load := startDevices(t, lic, clients, 25*time.Millisecond, "http://"+lb.ln.Addr().String())
	load.waitSent(clients / 3)
	a.Process.Kill() // SIGKILL: requests in flight on this instance are cut
	a.Wait()
	killedAt := load.sent.Load()
	load.waitSent(clients * 2 / 3)
	restartedAt := load.sent.Load()
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	granted, refused := load.account(t, dsn, seats)
	if lb.served[0].Load() == 0 || lb.served[1].Load() == 0 {
		t.Fatalf("both instances must have served: %d and %d connections", lb.served[0].Load(), lb.served[1].Load())
	}
	// While the database restarted, B answered 503 unavailable (and the
	// clients retried), never 500.
	log := logB.String()
	unavailable, internal := strings.Count(log, "status=503"), strings.Count(log, "status=500")
	if internal != 0 {
		t.Errorf("instance B answered 500 %d times:\n%s", internal, log)
	}
	t.Logf("instance A killed when %d of %d clients had sent, the database restarted at %d; connections A %d, B %d; B answered 503 %d times; all completed: %d granted, %d seats_exhausted",
		killedAt, clients, restartedAt, lb.served[0].Load(), lb.served[1].Load(), unavailable, granted, refused)
}

// TestLedgerCopyToPostgres: 'seatkey ledger copy' moves an SQLite ledger
// into an empty PostgreSQL database, and the CLI reads the same devices
// from it.
func TestLedgerCopyToPostgres(t *testing.T) {
	pg := pgtest.Own(t)
	dsn := pg.NewDatabase(t)
	dir := t.TempDir()
	p := func(s string) string { return filepath.Join(dir, s) }
	for _, args := range [][]string{
		{"keygen", "-o", p("acme"), "--unencrypted"},
		{"ledger", "init", "--ledger", p("vendor.db")},
		{"mint", "--key", p("acme.key"), "--product", "ledgerpro", "--customer", "Globex", "--edition", "pro", "--seats", "2",
			"--expires", "2099-12-31", "--ledger", p("vendor.db"), "-o", p("globex.lic")},
		{"request", "--license", p("globex.lic"), "--root", fixtures + "/server", "--label", "server", "-o", p("server.req")},
		{"activate", "--key", p("acme.key"), "--ledger", p("vendor.db"), "-o", p("acts"), p("server.req")},
	} {
		if r := runCLI(t, nil, args...); r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
	}
	r := runCLI(t, nil, "ledger", "copy", "--ledger", p("vendor.db"), "--to", dsn, "--json")
	if r.code != 0 || !strings.Contains(r.stdout, `"devices": 1`) {
		t.Fatalf("copy: %+v", r)
	}
	a, b := runCLI(t, nil, "devices", "--ledger", p("vendor.db"), "--json"), runCLI(t, nil, "devices", "--ledger", dsn, "--json")
	if a.code != 0 || a.stdout != b.stdout || !strings.Contains(b.stdout, "server") {
		t.Fatalf("devices differ:\n%s\n%s", a.stdout, b.stdout)
	}
	if r := runCLI(t, nil, "ledger", "copy", "--ledger", p("vendor.db"), "--to", dsn); r.code != 1 || !strings.Contains(r.stderr, "already holds a ledger") {
		t.Fatalf("a second copy into the same database: %+v", r)
	}
}
