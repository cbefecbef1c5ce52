package portal

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/testhw"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

var start = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

const product = "ledgerpro"

// clock is a settable test clock shared by the ledger and the portal.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a ledger with two customers: Acme (a 4-seat subscription with
// four devices: all seats used, a per-deployment license and a perpetual license whose
// support ended) and Globex (a 3-seat subscription with two devices).
type fixture struct {
	l                  *issuer.Ledger
	path               string
	key                *issuer.Key
	clk                *clock
	acmeSub, acmeDep   license.ID
	acmePerp, globex   license.ID
	acmeDevs, depDevs  []activation.DeviceID
	perpDevs, globDevs []activation.DeviceID
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := issuer.CreateLedger(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f := &fixture{l: l, path: path, clk: &clock{t: start}}
	l.Now, l.Actor = f.clk.Now, "test"
	if f.key, err = issuer.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	n := 0
	var lastTok []byte
	mk := func(customer, contact string, seats int, kind license.Kind, devices int, labels ...string) (license.ID, []activation.DeviceID) {
		c := license.Claims{Vendor: "Acme Software", Customer: customer, Product: product, Edition: "pro", Seats: seats, Kind: kind, Failover: 1,
			IssuedAt: start.AddDate(-2, 0, 0)}
		switch kind {
		case license.Subscription:
			c.Expires = time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
		case license.Perpetual:
			c.UpgradesUntil = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // support ended
		}
		tok, err := f.key.Mint(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.RecordLicense(f.key, tok, issuer.LicensePolicy{Contact: contact, OverageAllowed: true, OveragePriceCents: 5000}); err != nil {
			t.Fatal(err)
		}
		lt, _ := license.Inspect(tok)
		lastTok = tok
		var devs []activation.DeviceID
		for i := 0; i < devices; i++ {
			n++
			label := fmt.Sprintf("%s-%s-%d", strings.ToLower(customer), kind, i+1)
			if i < len(labels) {
				label = labels[i]
			}
			r, err := activation.NewRequest(tok, machineProfile(n).Digest(product), label, false)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := r.Armor()
			res, err := l.Activate(f.key, b)
			if err != nil {
				t.Fatal(err)
			}
			devs = append(devs, res.Device)
			f.clk.Add(time.Hour)
		}
		return lt.Claims.ID, devs
	}
	f.acmeSub, f.acmeDevs = mk("Acme", "it@acme.example", 4, license.Subscription, 4, "build-server", "old-laptop", "<script>alert(1)</script>", "render-01")
	acmeTok := lastTok
	f.acmeDep, f.depDevs = mk("Acme", "it@acme.example", 2, license.PerDeployment, 1)
	f.acmePerp, f.perpDevs = mk("Acme", "it@acme.example", 2, license.Perpetual, 1)
	globexFirst := n + 1
	f.globex, f.globDevs = mk("Globex", "ops@globex.example", 3, license.Subscription, 2, "globex-secret-box", "globex-db")
	// Acme's license sees a request from Globex's first machine: refused
	// and flagged, with a note to the operators naming Globex's device.
	{
		r, _ := activation.NewRequest(acmeTok, machineProfile(globexFirst).Digest(product), "borrowed", false)
		b, _ := r.Armor()
		if _, err := l.Activate(f.key, b); !errors.Is(err, issuer.ErrIdentityConflict) {
			t.Fatalf("conflict: %v", err)
		}
	}
	// Initech is suspended: it recommissioned a machine past the limit.
	_, ini := mk("Initech", "it@initech.example", 1, license.Subscription, 1, "initech-pc")
	if err := l.Decommission(ini[0]); err != nil {
		t.Fatal(err)
	}
	l.RecommissionLimit = 0
	r, _ := activation.NewRequest(lastTok, machineProfile(n).Digest(product), "initech-pc", false)
	b, _ := r.Armor()
	if _, err := l.Activate(f.key, b); !errors.Is(err, issuer.ErrSuspended) {
		t.Fatalf("suspending Initech: %v", err)
	}
	l.RecommissionLimit = issuer.DefaultRecommissionLimit
	return f
}

// mail is one message the test SMTP server received.
type mail struct {
	From, To string
	Data     string
}

// smtpSink is a minimal SMTP server on 127.0.0.1 that keeps what it receives.
type smtpSink struct {
	ln   net.Listener
	mu   sync.Mutex
	got  []mail
	recv chan mail
}

func startSMTP(t testing.TB) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{ln: ln, recv: make(chan mail, 100)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpSink) Addr() string { return s.ln.Addr().String() }

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 sink ESMTP")
	var m mail
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			tp.PrintfLine("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m = mail{From: strings.Trim(line[10:], "<> ")}
			tp.PrintfLine("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.To = strings.Trim(line[8:], "<> ")
			tp.PrintfLine("250 ok")
		case cmd == "DATA":
			tp.PrintfLine("354 go on")
			b, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.Data = string(b)
			s.mu.Lock()
			s.got = append(s.got, m)
			s.mu.Unlock()
			s.recv <- m
			tp.PrintfLine("250 queued")
		case cmd == "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("250 ok")
		}
	}
}

// next waits for the next message.
func (s *smtpSink) next(t testing.TB) mail {
	t.Helper()
	select {
	case m := <-s.recv:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no email arrived within 10 s")
		return mail{}
	}
}

// none checks that no message arrives for a while.
func (s *smtpSink) none(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case m := <-s.recv:
		t.Fatalf("unexpected email to %s:\n%s", m.To, m.Data)
	case <-time.After(d):
	}
}

// linkIn returns the sign-in link in a message body.
func linkIn(t testing.TB, m mail) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(m.Data))
	for sc.Scan() {
		if i := strings.Index(sc.Text(), "/signin/"); i >= 0 {
			return strings.TrimSpace(sc.Text())
		}
	}
	t.Fatalf("no sign-in link in:\n%s", m.Data)
	return ""
}

func machineProfile(n int) *fingerprint.Profile { return testhw.Machine(n) }
