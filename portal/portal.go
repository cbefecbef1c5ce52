// Package portal serves the customer and operator web pages over the
// issuer's ledger: customers sign in with a one-time link mailed to their
// contact, read their License Report, download it as CSV and reallocate
// seats by decommissioning machines; the vendor's operators watch usage,
// unsuspend customers, revoke licenses and publish revocation lists.
//
// Pages are rendered on the server with html/template and need no
// JavaScript. Every form carries a per-session CSRF token, every page checks
// that the signed-in customer owns what it names, and sessions and links are
// stored as SHA-256 hashes of their secrets. PORTAL.md describes each page.
package portal

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/seatkey/seatkey/issuer"
)

// Options configure the portal.
type Options struct {
	// BaseURL is the portal's public address, used in emailed links
	// ("https://licenses.example.com"; no trailing slash).
	BaseURL string
	// Mailer sends sign-in links and confirmations; nil: nothing is sent
	// (and nobody can sign in as a customer).
	Mailer Mailer
	// Clock is the time (tests set it); nil: time.Now.
	Clock func() time.Time
	// SecureCookies marks cookies Secure. Set it unless the portal is
	// served without TLS on loopback.
	SecureCookies bool
	// RateLimit bounds sign-in attempts; zero fields take the defaults.
	RateLimit RateLimit
	// Key signs revocation lists that operators publish; nil: the publish
	// button explains that the server runs without the signing key.
	Key *issuer.Key
	// Vendor names the vendor in published revocation lists.
	Vendor string
	// ListValidity is how long a published list is valid; default 7 days.
	ListValidity time.Duration
	// Logger receives errors the pages cannot show (mail failures); nil: discarded.
	Logger *slog.Logger
}

// Session and link lifetimes.
const (
	LinkLifetime    = 15 * time.Minute
	SessionIdle     = 30 * time.Minute
	SessionAbsolute = 8 * time.Hour
	maxBody         = 64 << 10 // request bodies: forms only
	maxSelect       = 500      // devices in one decommission request
)

// Cookie names.
const (
	cookieCustomer = "seatkey_session"
	cookieOperator = "seatkey_ops"
	cookiePre      = "seatkey_csrf" // anti-forgery token of forms shown before sign-in
)

// CSP is the Content-Security-Policy of every response: no scripts at all.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

//go:embed templates/*.html static/portal.css
var assets embed.FS

type portal struct {
	l        *issuer.Ledger
	o        Options
	pages    map[string]*template.Template
	css      []byte
	mux      *http.ServeMux
	ipLimit  *limiter
	keyLimit *limiter
	mailSem  chan struct{}
	log      *slog.Logger
}

// New returns the portal's handler over the ledger. Mount it at "/".
func New(l *issuer.Ledger, o Options) http.Handler {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.RateLimit.PerIP <= 0 {
		o.RateLimit.PerIP = 20
	}
	if o.RateLimit.PerKey <= 0 {
		o.RateLimit.PerKey = 5
	}
	if o.RateLimit.Window <= 0 {
		o.RateLimit.Window = 15 * time.Minute
	}
	if o.ListValidity <= 0 {
		o.ListValidity = 7 * 24 * time.Hour
	}
	if o.Vendor == "" {
		o.Vendor = "seatkey"
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	p := &portal{l: l, o: o, mux: http.NewServeMux(), pages: map[string]*template.Template{},
		mailSem: make(chan struct{}, 8), log: o.Logger}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.ipLimit = newLimiter(l, p.log, o.RateLimit.PerIP, o.RateLimit.Window)
	p.keyLimit = newLimiter(l, p.log, o.RateLimit.PerKey, o.RateLimit.Window)
	p.css, _ = assets.ReadFile("static/portal.css")
	names, _ := fs.Glob(assets, "templates/*.html")
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		p.pages[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", n))
	}
	p.routes()
	return p
}

func (p *portal) routes() {
	p.mux.HandleFunc("GET /static/portal.css", p.serveCSS)
	p.mux.HandleFunc("GET /{$}", p.signInPage)
	p.mux.HandleFunc("POST /{$}", p.requestLink)
	p.mux.HandleFunc("GET /signin/{token}", p.linkPage)
	p.mux.HandleFunc("POST /signin", p.useLink)
	p.mux.HandleFunc("POST /signout", p.signOut)
	p.mux.HandleFunc("GET /report", p.customer(p.report))
	p.mux.HandleFunc("GET /report.csv", p.customer(p.reportCSV))
	p.mux.HandleFunc("GET /reallocate", p.customer(p.termsPage))
	p.mux.HandleFunc("POST /reallocate", p.customer(p.reallocate))
	p.mux.HandleFunc("GET /reallocate/done", p.customer(p.donePage))

	p.mux.HandleFunc("GET /ops/{$}", p.opsHome)
	p.mux.HandleFunc("POST /ops/login", p.opsLogin)
	p.mux.HandleFunc("POST /ops/logout", p.opsLogout)
	p.mux.HandleFunc("POST /ops/unsuspend", p.operator(true, p.opsUnsuspend))
	p.mux.HandleFunc("POST /ops/revoke", p.operator(true, p.opsRevoke))
	p.mux.HandleFunc("POST /ops/publish", p.operator(true, p.opsPublish))
}

// ServeHTTP sets the security headers of every response and bounds bodies.
func (p *portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if _, pattern := p.mux.Handler(r); pattern == "" {
		p.fail(w, r, http.StatusNotFound, "Page not found", "There is no page at this address.")
		return
	}
	p.mux.ServeHTTP(w, r)
}

func (p *portal) serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(p.css)
}

func (p *portal) now() time.Time { return p.o.Clock().UTC() }

// page is what every template gets.
type page struct {
	Title    string
	CSRF     string
	Customer string // signed-in customer, if any
	Operator string // signed-in operator, if any
	ReadOnly bool
	Data     any
}

func (p *portal) render(w http.ResponseWriter, status int, name string, pg page) {
	t := p.pages[name]
	var buf strings.Builder
	if err := t.Execute(&buf, pg); err != nil {
		p.log.Error("portal: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, buf.String())
}

// fail shows an error page with a fixed title and message (never customer input).
func (p *portal) fail(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	p.render(w, status, "error", page{Title: title, Data: msg})
}

func (p *portal) internal(w http.ResponseWriter, r *http.Request, err error) {
	p.log.Error("portal", "path", r.URL.Path, "err", err)
	p.fail(w, r, http.StatusInternalServerError, "Something went wrong", "The request could not be completed. Nothing you can fix: try again later.")
}

// secret returns 32 random bytes, base64url without padding.
func secret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func (p *portal) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: p.o.SecureCookies, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// preCSRF returns the anti-forgery token for forms shown before sign-in
// (double-submit: the form's value must equal the cookie's), setting the
// cookie if the browser has none.
func (p *portal) preCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(cookiePre); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := secret()
	p.setCookie(w, cookiePre, v, int(SessionAbsolute/time.Second))
	return v
}

// checkPreCSRF checks a pre-sign-in form's token against its cookie.
func checkPreCSRF(r *http.Request) bool {
	c, err := r.Cookie(cookiePre)
	return err == nil && len(c.Value) == 43 && subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

// session is the signed-in user of a request.
type session struct {
	*issuer.PortalSession
	csrf string
}

func (p *portal) session(r *http.Request, cookie, kind string) *session {
	c, err := r.Cookie(cookie)
	if err != nil || len(c.Value) != 43 {
		return nil
	}
	s, err := p.l.TouchPortalSession(hashOf(c.Value), p.now())
	if err != nil || s.Kind != kind {
		return nil
	}
	return &session{s, base64.RawURLEncoding.EncodeToString(s.CSRF)}
}

func (p *portal) startSession(w http.ResponseWriter, cookie, kind, subject string) error {
	v := secret()
	csrf := make([]byte, 32)
	rand.Read(csrf)
	s := issuer.PortalSession{Kind: kind, Subject: subject, CSRF: csrf}
	if err := p.l.CreatePortalSession(hashOf(v), s, p.now(), SessionIdle, SessionAbsolute); err != nil {
		return err
	}
	p.setCookie(w, cookie, v, int(SessionAbsolute/time.Second))
	return nil
}

func (p *portal) endSession(w http.ResponseWriter, r *http.Request, cookie string) {
	if c, err := r.Cookie(cookie); err == nil {
		p.l.DeletePortalSession(hashOf(c.Value))
	}
	p.setCookie(w, cookie, "", -1)
}

// checkCSRF compares a POST's token with the session's in constant time.
func (s *session) checkCSRF(r *http.Request) bool {
	return subtle.ConstantTimeCompare([]byte(s.csrf), []byte(r.PostFormValue("csrf"))) == 1
}

// customer wraps a handler that needs a signed-in customer; POSTs must
// carry the session's CSRF token.
func (p *portal) customer(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := p.session(r, cookieCustomer, "customer")
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			p.fail(w, r, http.StatusForbidden, "Signed out", "Your session ended. Sign in again; nothing was changed.")
			return
		}
		if r.Method == http.MethodPost && !s.checkCSRF(r) {
			p.forbiddenCSRF(w, r)
			return
		}
		h(w, r, s)
	}
}

func (p *portal) forbiddenCSRF(w http.ResponseWriter, r *http.Request) {
	p.fail(w, r, http.StatusForbidden, "Request refused", "The form was missing its security token or it did not match your session. Nothing was changed. Go back, reload the page and try again.")
}

// clientIP is the connection's address: the portal does not trust
// X-Forwarded-For (put the rate limit in the proxy when behind one).
// allowSignIn counts a sign-in attempt against the client's IP limit and,
// if key is not empty and the IP is within its limit, against key's. It
// answers the refusal itself: 429 with tooMany, or 503 when the ledger
// could not count the attempt (an outage must not read as a lock-out).
func (p *portal) allowSignIn(w http.ResponseWriter, r *http.Request, now time.Time, key, tooMany string) bool {
	ok, err := p.ipLimit.allow(ipKey(clientIP(r)), now)
	if ok && err == nil && key != "" {
		ok, err = p.keyLimit.allow(key, now)
	}
	switch {
	case err != nil:
		p.fail(w, r, http.StatusServiceUnavailable, "Sign-in unavailable", "Sign-in is unavailable right now. Try again in a minute.")
	case !ok:
		p.fail(w, r, http.StatusTooManyRequests, "Too many attempts", tooMany)
	}
	return ok && err == nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
