package portal

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/issuer"
)

// client is a browser stand-in: a cookie jar, redirects followed.
type client struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, c: &http.Client{Jar: jar}}
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.c.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	resp, err := c.c.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the form token from a page.
func (c *client) csrf(path string) string {
	c.t.Helper()
	_, body := c.get(path)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no csrf token on %s:\n%s", path, body)
	}
	return m[1]
}

type env struct {
	*fixture
	srv  *httptest.Server
	smtp *smtpSink
}

func newEnv(t *testing.T, rl RateLimit) *env {
	f := newFixture(t)
	sink := startSMTP(t)
	e := &env{fixture: f, smtp: sink}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	h = New(f.l, Options{BaseURL: e.srv.URL, Mailer: &SMTPMailer{Addr: sink.Addr(), From: "portal@vendor.example"},
		Clock: f.clk.Now, RateLimit: rl, Key: f.key, Vendor: "acme-software"})
	return e
}

// signIn signs a new client in as the customer of lic through the emailed link.
func (e *env) signIn(t *testing.T, lic string) *client {
	t.Helper()
	c := newClient(t, e.srv.URL)
	code, _ := c.post("/", url.Values{"key": {lic}, "csrf": {c.csrf("/")}})
	if code != 200 {
		t.Fatalf("request link: %d", code)
	}
	link := linkIn(t, e.smtp.next(t))
	path := strings.TrimPrefix(link, e.srv.URL)
	tok := path[len("/signin/"):]
	code, body := c.post("/signin", url.Values{"token": {tok}, "csrf": {c.csrf(path)}})
	if code != 200 || !strings.Contains(body, "License Report") {
		t.Fatalf("sign in: %d\n%s", code, body)
	}
	return c
}

func (e *env) status(t *testing.T, dev activation.DeviceID) string {
	t.Helper()
	st := ""
	e.l.EachDevice(issuer.Filter{}, func(d *issuer.Device) error {
		if d.ID == dev {
			st = d.Status
		}
		return nil
	})
	return st
}

func TestSignInRevealsNothing(t *testing.T) {
	e := newEnv(t, RateLimit{})
	c := newClient(t, e.srv.URL)
	var bodies []string
	for _, key := range []string{e.acmeSub.String(), "lic_" + strings.Repeat("A", 26), "not a key at all", e.globex.String()} {
		code, body := c.post("/", url.Values{"key": {key}, "csrf": {c.csrf("/")}})
		if code != 200 {
			t.Fatalf("%q: status %d", key, code)
		}
		bodies = append(bodies, body)
	}
	for i := range bodies {
		if bodies[i] != bodies[0] {
			t.Errorf("page for key %d differs from the page for a real key", i)
		}
	}
	got := map[string]bool{e.smtp.next(t).To: true, e.smtp.next(t).To: true}
	if !got["it@acme.example"] || !got["ops@globex.example"] {
		t.Errorf("links went to %v", got)
	}
	e.smtp.none(t, 300*time.Millisecond)
}

func TestSignInLinkSingleUseAndExpiry(t *testing.T) {
	e := newEnv(t, RateLimit{})
	c := newClient(t, e.srv.URL)
	c.post("/", url.Values{"key": {e.acmeSub.String()}, "csrf": {c.csrf("/")}})
	path := strings.TrimPrefix(linkIn(t, e.smtp.next(t)), e.srv.URL)
	tok := path[len("/signin/"):]
	// A mail scanner's GETs do not use the link.
	for i := 0; i < 3; i++ {
		if code, body := newClient(t, e.srv.URL).get(path); code != 200 || !strings.Contains(body, "Sign in to the license portal") {
			t.Fatalf("GET of the link: %d", code)
		}
	}
	if code, _ := c.post("/signin", url.Values{"token": {tok}, "csrf": {c.csrf(path)}}); code != 200 {
		t.Fatalf("first use: %d", code)
	}
	c2 := newClient(t, e.srv.URL)
	if code, body := c2.post("/signin", url.Values{"token": {tok}, "csrf": {c2.csrf("/")}}); code != http.StatusGone || strings.Contains(body, "License Report") {
		t.Fatalf("second use: %d", code)
	}
	if code, _ := c2.get(path); code != http.StatusGone {
		t.Errorf("GET of a used link: %d", code)
	}
	if code, _ := c2.get("/report"); code != 200 || c2.c.Jar.Cookies(mustURL(e.srv.URL))[0].Name == cookieCustomer {
		t.Errorf("second client got a session")
	}
	// An expired link.
	c3 := newClient(t, e.srv.URL)
	c3.post("/", url.Values{"key": {e.acmeSub.String()}, "csrf": {c3.csrf("/")}})
	path = strings.TrimPrefix(linkIn(t, e.smtp.next(t)), e.srv.URL)
	csrf := c3.csrf(path)
	e.clk.Add(LinkLifetime + time.Second)
	if code, _ := c3.post("/signin", url.Values{"token": {path[len("/signin/"):]}, "csrf": {csrf}}); code != http.StatusGone {
		t.Fatalf("expired link: %d", code)
	}
	if code, body := c3.get("/report"); code != 200 || strings.Contains(body, "License Report") {
		t.Errorf("expired link signed in")
	}
}

func mustURL(s string) *url.URL { u, _ := url.Parse(s); return u }

func TestSignInRateLimit(t *testing.T) {
	e := newEnv(t, RateLimit{PerIP: 6, PerKey: 3, Window: time.Minute})
	c := newClient(t, e.srv.URL)
	for i := 1; i <= 4; i++ {
		code, _ := c.post("/", url.Values{"key": {e.acmeSub.String()}, "csrf": {c.csrf("/")}})
		if want := map[bool]int{true: 200, false: 429}[i <= 3]; code != want {
			t.Fatalf("attempt %d for one key: %d, want %d", i, code, want)
		}
	}
	// Per IP: other keys, same client.
	for i := 5; i <= 7; i++ {
		code, _ := c.post("/", url.Values{"key": {"lic_" + strings.Repeat("B", 25) + string(rune('A'+i))}, "csrf": {c.csrf("/")}})
		if want := map[bool]int{true: 200, false: 429}[i <= 6]; code != want {
			t.Fatalf("attempt %d from one IP: %d, want %d", i, code, want)
		}
	}
	e.clk.Add(time.Minute)
	if code, _ := c.post("/", url.Values{"key": {e.acmeSub.String()}, "csrf": {c.csrf("/")}}); code != 200 {
		t.Fatalf("after the window: %d", code)
	}
}

// TestCustomerIsolation: Acme's session sees and changes nothing of Globex's
// whatever IDs it puts in URLs and forms.
func TestCustomerIsolation(t *testing.T) {
	e := newEnv(t, RateLimit{})
	c := e.signIn(t, e.acmeSub.String())
	secrets := []string{"Globex", "globex-secret-box", "globex-db", e.globex.String(), e.globDevs[0].String(), e.globDevs[1].String()}
	leak := func(what, body string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s shows %q", what, s)
			}
		}
	}
	g := e.globDevs[0].String()
	for _, path := range []string{"/report", "/report?license=" + e.globex.String(), "/report?select=" + g, "/report?q=globex",
		"/reallocate?select=" + g, "/reallocate/done?d=" + g, "/report.csv"} {
		code, body := c.get(path)
		if code != 200 {
			t.Errorf("%s: %d", path, code)
		}
		leak(path, body)
	}
	if _, body := c.get("/report"); strings.Contains(body, "hardware identity") || !strings.Contains(body, "Notifications sent (1)") {
		t.Errorf("the operators' identity-conflict note shows in the customer's report, or the customer's own note is missing")
	}
	csrf := c.csrf("/report")
	for _, sel := range [][]string{{g}, {e.acmeDevs[0].String(), g}} {
		code, body := c.post("/reallocate", url.Values{"csrf": {csrf}, "accept": {"yes"}, "select": sel})
		if code != http.StatusBadRequest {
			t.Errorf("decommission %v: %d", sel, code)
		}
		leak("POST /reallocate", body)
	}
	if st := e.status(t, e.globDevs[0]); st != "active" {
		t.Errorf("Globex's device is %s", st)
	}
	if st := e.status(t, e.acmeDevs[0]); st != "active" {
		t.Errorf("a list mixing another customer's device changed Acme's device: %s", st)
	}
	// Globex's own session sees its devices (the fixture is not empty).
	gc := e.signIn(t, e.globex.String())
	if _, body := gc.get("/report"); !strings.Contains(body, "globex-secret-box") || strings.Contains(body, "build-server") {
		t.Errorf("Globex's report is wrong")
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, RateLimit{})
	c := e.signIn(t, e.acmeSub.String())
	dev := e.acmeDevs[1].String()
	for name, form := range map[string]url.Values{
		"missing": {"accept": {"yes"}, "select": {dev}},
		"wrong":   {"accept": {"yes"}, "select": {dev}, "csrf": {strings.Repeat("x", 43)}},
		"other":   {"accept": {"yes"}, "select": {dev}, "csrf": {newClient(t, e.srv.URL).csrf("/")}},
	} {
		if code, _ := c.post("/reallocate", form); code != http.StatusForbidden {
			t.Errorf("%s token: %d", name, code)
		}
	}
	if st := e.status(t, e.acmeDevs[1]); st != "active" {
		t.Fatalf("device %s after forged posts", st)
	}
	// Sign-in forms need the pre-session token too.
	if code, _ := newClient(t, e.srv.URL).post("/", url.Values{"key": {e.acmeSub.String()}}); code != http.StatusForbidden {
		t.Errorf("sign-in without token: %d", code)
	}
	e.smtp.none(t, 200*time.Millisecond)
	// With the right token the same request works.
	if code, _ := c.post("/reallocate", url.Values{"accept": {"yes"}, "select": {dev}, "csrf": {c.csrf("/report")}}); code != 200 {
		t.Errorf("genuine post: %d", code)
	}
	if st := e.status(t, e.acmeDevs[1]); st != "decommissioned" {
		t.Errorf("device %s after the genuine post", st)
	}
}

func TestReallocateRefusals(t *testing.T) {
	e := newEnv(t, RateLimit{})
	c := e.signIn(t, e.acmeSub.String())
	_, body := c.get("/report")
	for _, want := range []string{"per-deployment license", "support (upgrade protection) ran through 2025-12-31", "Renewing support"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	csrf := c.csrf("/report")
	for _, dev := range []activation.DeviceID{e.depDevs[0], e.perpDevs[0]} {
		if _, body := c.get("/reallocate?select=" + dev.String()); !strings.Contains(body, "cannot be decommissioned") {
			t.Errorf("terms page for %s does not refuse", dev)
		}
		if code, _ := c.post("/reallocate", url.Values{"csrf": {csrf}, "accept": {"yes"}, "select": {dev.String()}}); code != http.StatusBadRequest {
			t.Errorf("decommission %s: %d", dev, code)
		}
		if st := e.status(t, dev); st != "active" {
			t.Errorf("%s is %s", dev, st)
		}
	}
	// Terms not accepted: nothing happens.
	if code, _ := c.post("/reallocate", url.Values{"csrf": {csrf}, "select": {e.acmeDevs[0].String()}}); code != http.StatusBadRequest {
		t.Errorf("without accepting: %d", code)
	}
	if st := e.status(t, e.acmeDevs[0]); st != "active" {
		t.Errorf("decommissioned without accepting the terms")
	}
}

func TestReportEscapesAndCSV(t *testing.T) {
	e := newEnv(t, RateLimit{})
	c := e.signIn(t, e.acmeSub.String())
	_, body := c.get("/report")
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("label not escaped")
	}
	_, csv := c.get("/report.csv")
	var want bytes.Buffer
	if err := e.l.WriteDeviceCSV(&want, issuer.Filter{Customer: "Acme"}); err != nil {
		t.Fatal(err)
	}
	if csv != want.String() {
		t.Errorf("CSV differs from the issuer's:\n%s\nwant:\n%s", csv, want.String())
	}
	// Sorting and filtering.
	_, body = c.get("/report?sort=label&status=active&q=R")
	i, j := strings.Index(body, "build-server"), strings.Index(body, "render-01")
	if i < 0 || j < 0 || i > j || strings.Contains(body, "old-laptop") {
		t.Errorf("sort by label with filter q=R: build-server at %d, render-01 at %d", i, j)
	}
	_, body = c.get("/report?sort=label&order=desc")
	if strings.Index(body, "render-01") > strings.Index(body, "build-server") {
		t.Errorf("descending sort")
	}
}

func TestSessionExpiresAndHeaders(t *testing.T) {
	e := newEnv(t, RateLimit{})
	c := e.signIn(t, e.acmeSub.String())
	resp, err := c.c.Get(e.srv.URL + "/report")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for h, want := range map[string]string{"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q", h, got)
		}
	}
	e.clk.Add(SessionIdle - time.Minute)
	if _, body := c.get("/report"); !strings.Contains(body, "License Report") {
		t.Fatal("session ended before its idle time")
	}
	e.clk.Add(SessionIdle + time.Second)
	if _, body := c.get("/report"); strings.Contains(body, "License Report") {
		t.Fatal("idle session still works")
	}
	// Absolute limit: keep it busy past 8 hours.
	c = e.signIn(t, e.acmeSub.String())
	for d := time.Duration(0); d < SessionAbsolute; d += 20 * time.Minute {
		e.clk.Add(20 * time.Minute)
		c.get("/report")
	}
	if _, body := c.get("/report"); strings.Contains(body, "License Report") {
		t.Fatal("session outlived its absolute limit")
	}
}

func TestCookieAttributes(t *testing.T) {
	e := newEnv(t, RateLimit{})
	for _, secure := range []bool{false, true} {
		h := New(e.l, Options{SecureCookies: secure, Clock: e.clk.Now})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		cs := rec.Result().Cookies()
		if len(cs) != 1 {
			t.Fatalf("cookies: %v", cs)
		}
		ck := cs[0]
		if ck.Secure != secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
			t.Errorf("cookie %+v", ck)
		}
	}
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, RateLimit{})
	c := e.signIn(t, e.acmeSub.String())
	form := url.Values{"csrf": {c.csrf("/report")}, "accept": {"yes"}, "select": {e.acmeDevs[0].String()}, "pad": {strings.Repeat("x", maxBody)}}
	if code, _ := c.post("/reallocate", form); code == 200 || code >= 500 {
		t.Errorf("oversized body: %d", code)
	}
	if st := e.status(t, e.acmeDevs[0]); st != "active" {
		t.Errorf("oversized body changed the ledger: %s", st)
	}
	if code, body := c.get("/no/such/page"); code != 404 || !strings.Contains(body, "Page not found") {
		t.Errorf("404: %d", code)
	}
}

// TestRateLimitShared: two portal instances serving one ledger count one
// key's sign-in attempts together (the counts live in the ledger), so an
// attacker gains nothing by spreading attempts over instances.
func TestRateLimitShared(t *testing.T) {
	e := newEnv(t, RateLimit{PerIP: 100, PerKey: 3, Window: time.Minute})
	other := httptest.NewServer(New(e.l, Options{BaseURL: e.srv.URL, Mailer: &SMTPMailer{Addr: e.smtp.Addr(), From: "portal@vendor.example"},
		Clock: e.clk.Now, RateLimit: RateLimit{PerIP: 100, PerKey: 3, Window: time.Minute}, Key: e.key, Vendor: "acme-software"}))
	t.Cleanup(other.Close)
	clients := []*client{newClient(t, e.srv.URL), newClient(t, other.URL)}
	for i := 1; i <= 4; i++ {
		c := clients[i%2]
		code, _ := c.post("/", url.Values{"key": {e.acmeSub.String()}, "csrf": {c.csrf("/")}})
		if want := map[bool]int{true: 200, false: 429}[i <= 3]; code != want {
			t.Fatalf("attempt %d for one key, alternating instances: %d, want %d", i, code, want)
		}
	}
}

// TestRateLimitLedgerError: when the ledger cannot count an attempt, the
// sign-in is refused as unavailable (503), not as a lock-out (found in
// review: it read "Too many sign-in attempts").
func TestRateLimitLedgerError(t *testing.T) {
	e := newEnv(t, RateLimit{PerIP: 100, PerKey: 100, Window: time.Minute})
	c := newClient(t, e.srv.URL)
	csrf := c.csrf("/")
	e.l.Close() // the ledger is unreachable
	code, body := c.post("/", url.Values{"key": {e.acmeSub.String()}, "csrf": {csrf}})
	if code != 503 || !strings.Contains(body, "Sign-in is unavailable") || strings.Contains(body, "Too many") {
		t.Fatalf("ledger unreachable: %d\n%s", code, body)
	}
}

// TestLimiterLocalFirst: attempts over the limit are refused by the
// instance's own count without reaching the ledger, whose count stays at
// the limit; an IPv6 client's whole /64 is one key.
func TestLimiterLocalFirst(t *testing.T) {
	e := newEnv(t, RateLimit{})
	l := newLimiter(e.l, slog.New(slog.DiscardHandler), 2, time.Minute)
	for i := 0; i < 5; i++ {
		if ok, err := l.allow("ip:x", start); err != nil || ok != (i < 2) {
			t.Fatalf("attempt %d: %v %v", i+1, ok, err)
		}
	}
	e.l.Close() // a refusal past the local limit does not touch the ledger
	if ok, err := l.allow("ip:x", start); ok || err != nil {
		t.Fatalf("past the local limit: %v %v", ok, err)
	}
	if a, b := ipKey("2001:db8:1:2:aaaa::1"), ipKey("2001:db8:1:2:ffff::9"); a != b || a != "ip:2001:db8:1:2::/64" {
		t.Fatalf("IPv6 keys %q %q", a, b)
	}
	if k := ipKey("192.0.2.7"); k != "ip:192.0.2.7" {
		t.Fatalf("IPv4 key %q", k)
	}
}
