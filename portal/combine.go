package portal

import (
	"net"
	"net/http"
	"net/smtp"
)

// Combine serves the portal's pages and passes every other request to api
// (the licensing server's handler), so that one listener serves both. p
// must come from New; requests its routes do not match, unknown paths
// included, go to api, which answers them in its own way.
//
// In `seatkey serve`:
//
//	err = server.Serve(ctx, ln, portal.Combine(srv, portal.New(l, opts)), ...)
func Combine(api, p http.Handler) http.Handler {
	pp, ok := p.(*portal)
	if !ok {
		panic("portal.Combine: p must come from portal.New")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := pp.mux.Handler(r); pattern != "" {
			pp.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// SMTPFromEnv returns an SMTPMailer configured by SEATKEY_SMTP_ADDR
// (host:port), SEATKEY_SMTP_FROM and, for relays that need a login,
// SEATKEY_SMTP_USER and SEATKEY_SMTP_PASSWORD (PLAIN authentication, which
// net/smtp sends only over TLS or to localhost). Without SEATKEY_SMTP_ADDR
// it returns nil: the portal then sends no mail.
func SMTPFromEnv(getenv func(string) string) Mailer {
	addr := getenv("SEATKEY_SMTP_ADDR")
	if addr == "" {
		return nil
	}
	m := &SMTPMailer{Addr: addr, From: getenv("SEATKEY_SMTP_FROM")}
	if m.From == "" {
		m.From = "licenses@localhost"
	}
	if user := getenv("SEATKEY_SMTP_USER"); user != "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		m.Auth = smtp.PlainAuth("", user, getenv("SEATKEY_SMTP_PASSWORD"), host)
	}
	return m
}
