package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/portal"
	"github.com/seatkey/seatkey/server"
)

// serveContext ends when the server should shut down (tests replace it).
var serveContext = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func cmdServe(e *env, args []string) error {
	fs := e.flags("serve", "--ledger DB --key NAME.key [--listen ADDR] [--tls-cert FILE --tls-key FILE]", `
Serves the ledger over HTTP: the API (API.md) and the customer portal
(PORTAL.md; operators are made with 'seatkey operator add', mail goes through
$SEATKEY_SMTP...). Devices activate with the same request
file the offline flow uses and get the same activation back, check in, return
their seat and fetch the latest revocation list; vendors use API tokens made
with 'seatkey token create'. Logs are structured (one line per request) on
standard error. SIGINT or SIGTERM stops accepting and lets requests in flight
finish. Without --tls-cert, serve plain HTTP only on loopback or behind a
TLS-terminating proxy. Several instances may serve one PostgreSQL ledger
(--ledger postgres://...): they never oversell a seat.`)
	ledgerPath := ledgerFlag(fs)
	key := fs.String("key", "", "signing key `FILE`")
	passFile := fs.String("passphrase-file", "", "passphrase `FILE` (or $SEATKEY_PASSPHRASE)")
	listen := fs.String("listen", "127.0.0.1:8080", "listen on `ADDR`")
	tlsCert := fs.String("tls-cert", "", "TLS certificate `FILE` (PEM)")
	tlsKey := fs.String("tls-key", "", "TLS private key `FILE` (PEM)")
	vendor := fs.String("vendor", "", "vendor `NAME` in published revocation lists (default: the key file's base name)")
	timeout := fs.Duration("timeout", server.DefaultTimeout, "per-request time limit")
	window := fs.Duration("duplicate-window", 0, "check-ins from two machines this close are suspected duplicates (default 1h)")
	grace := fs.Duration("shutdown-grace", server.DefaultShutdownGrace, "longest wait for requests in flight at shutdown")
	logJSON := fs.Bool("log-json", false, "log JSON lines instead of text")
	ekRoots, requireEK := tpmPolicyFlags(fs)
	publicURL := fs.String("public-url", "", "the customer portal's address as customers reach it, for emailed sign-in links (default: the listen address)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *key == "" || *ledgerPath == "" || fs.NArg() != 0 {
		return usagef("need --ledger and --key")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if *vendor == "" {
		*vendor = strings.TrimSuffix(filepath.Base(*key), ".key")
	}
	var h slog.Handler = slog.NewTextHandler(e.stderr, nil)
	if *logJSON {
		h = slog.NewJSONHandler(e.stderr, nil)
	}
	log := slog.New(h)
	sk, err := e.loadKey(*key, *passFile)
	if err != nil {
		return err
	}
	tp, err := e.tpmPolicy(*ekRoots, *requireEK)
	if err != nil {
		return err
	}
	l, err := e.openLedger(*ledgerPath)
	if err != nil {
		return err
	}
	defer l.Close()
	l.TPM = tp
	l.Actor = "serve"
	srv, err := server.New(server.Config{Ledger: l, Key: sk, Vendor: *vendor, Logger: log, Timeout: *timeout, DuplicateWindow: *window})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	} else if host, _, _ := net.SplitHostPort(ln.Addr().String()); !net.ParseIP(host).IsLoopback() {
		log.Warn("serving plain HTTP on a non-loopback address: put a TLS proxy in front or use --tls-cert")
	}
	ctx, stop := serveContext()
	defer stop()
	log.Info("listening", "url", fmt.Sprintf("%s://%s", scheme, ln.Addr()), "key", sk.ID().String(), "ledger", issuer.RedactDSN(*ledgerPath))
	start := time.Now()
	base := *publicURL
	if base == "" {
		base = fmt.Sprintf("%s://%s", scheme, ln.Addr())
	}
	site := portal.Combine(srv, portal.New(l, portal.Options{BaseURL: base, Mailer: portal.SMTPFromEnv(e.getenv),
		SecureCookies: scheme == "https" || strings.HasPrefix(base, "https://"), Key: sk, Vendor: *vendor, Logger: log}))
	err = server.Serve(ctx, ln, site, *tlsCert, *tlsKey, *grace, log)
	log.Info("stopped", "uptime", time.Since(start).Round(time.Second).String())
	return err
}
