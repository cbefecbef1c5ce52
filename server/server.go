// Package server is seatkey's licensing server: an http.Handler that puts
// the issuer's ledger online. Devices activate, check in, return their seat
// and fetch the latest revocation list; vendors, with API tokens made by
// 'seatkey token create', read customers, licenses, devices and the usage
// report and (write scope) revoke, unsuspend and publish revocation lists.
// API.md is the reference for every request, response and error code.
//
// The rules are the ledger's: the server adds transport, authentication,
// limits and metrics, never a rule of its own.
package server

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/seatkey/seatkey/issuer"
)

// MaxBody is the largest request body accepted on any endpoint.
const MaxBody = 64 << 10

// Defaults for Config.
const (
	DefaultTimeout            = 10 * time.Second
	DefaultReportTimeout      = 5 * time.Minute
	DefaultRevocationValidity = 7 * 24 * time.Hour
	DefaultShutdownGrace      = 30 * time.Second
)

// Config is what a Server needs. Ledger and Key are required. The server
// records who changed the ledger by setting its Actor around each write:
// the Actor it had, then ":device" or ":token:NAME"; nothing else may write
// through the same *issuer.Ledger while the server runs.
type Config struct {
	Ledger *issuer.Ledger
	Key    *issuer.Key // signs activations and revocation lists
	Vendor string      // vendor name in published revocation lists
	Logger *slog.Logger

	// Timeout bounds every request but the report, which streams and gets
	// ReportTimeout. Zero means the defaults.
	Timeout, ReportTimeout time.Duration
	// DuplicateWindow: see issuer.Ledger.CheckIn. Zero: issuer's default.
	DuplicateWindow time.Duration
	// RevocationValidity is the default validity of a list published
	// through the API.
	RevocationValidity time.Duration
}

// Server is the licensing server's handler.
type Server struct {
	cfg     Config
	ledger  *issuer.Ledger
	log     *slog.Logger
	mux     *http.ServeMux
	metrics *metrics
	// writes admits one ledger write at a time from this process, so that
	// concurrent requests queue in Go (fair, cancellable) instead of spinning
	// in SQLite's busy handler. Other processes are kept out by the ledger's
	// own locking.
	writes      chan struct{}
	activations *batcher[[]byte, *issuer.Result]
	checkins    *batcher[issuer.CheckInRequest, *issuer.CheckInResult]
	actor       string // the ledger's Actor when the server was made
}

// New returns a Server over c.Ledger.
func New(c Config) (*Server, error) {
	if c.Ledger == nil || c.Key == nil {
		return nil, errors.New("server: a ledger and a signing key are required")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ReportTimeout <= 0 {
		c.ReportTimeout = DefaultReportTimeout
	}
	if c.RevocationValidity <= 0 {
		c.RevocationValidity = DefaultRevocationValidity
	}
	if c.Vendor == "" {
		c.Vendor = "seatkey"
	}
	s := &Server{cfg: c, ledger: c.Ledger, log: c.Logger, mux: http.NewServeMux(), metrics: newMetrics(), writes: make(chan struct{}, 1), actor: c.Ledger.Actor}
	s.activations = &batcher[[]byte, *issuer.Result]{kind: "activations", run: func(reqs [][]byte) ([]*issuer.Result, []error) {
		return s.ledger.ActivateBatch(s.cfg.Key, reqs)
	}}
	s.checkins = &batcher[issuer.CheckInRequest, *issuer.CheckInResult]{kind: "checkins", run: func(reqs []issuer.CheckInRequest) ([]*issuer.CheckInResult, []error) {
		return s.ledger.CheckInBatch(s.cfg.Key, reqs, s.cfg.DuplicateWindow)
	}}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	short := func(h http.HandlerFunc) http.Handler { return s.withTimeout(h, s.cfg.Timeout) }
	read := func(h http.HandlerFunc) http.Handler { return short(s.vendor(issuer.ScopeRead, h)) }
	write := func(h http.HandlerFunc) http.Handler { return short(s.vendor(issuer.ScopeWrite, h)) }

	s.mux.Handle("POST /v1/activations", short(s.activate))
	s.mux.Handle("POST /v1/checkins", short(s.checkIn))
	s.mux.Handle("POST /v1/returns", short(s.returnSeat))
	s.mux.Handle("GET /v1/revocations/latest", short(s.latestRevocations))

	s.mux.Handle("GET /v1/customers", read(s.customers))
	s.mux.Handle("GET /v1/licenses", read(s.licenses))
	s.mux.Handle("GET /v1/devices", s.vendor(issuer.ScopeRead, s.devices)) // streams: its own deadline
	s.mux.Handle("GET /v1/report", s.vendor(issuer.ScopeRead, s.report))   // streams: its own deadline
	s.mux.Handle("POST /v1/revocations", write(s.revoke))
	s.mux.Handle("POST /v1/revocations/publish", write(s.publish))
	s.mux.Handle("POST /v1/customers/{name}/unsuspend", write(s.unsuspend))

	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
}

// ServeHTTP logs, times and counts every request, gives it an ID and turns
// the mux's own plain-text 404 and 405 answers into JSON errors.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var id [8]byte
	rand.Read(id[:])
	rid := hex.EncodeToString(id[:])
	w.Header().Set("X-Request-Id", rid)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, rid))
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		rec.jsonify = true
	}
	s.mux.ServeHTTP(rec, r)
	route := pattern
	if route == "" {
		route = "unmatched"
	}
	d := time.Since(start)
	s.metrics.latency.WithLabelValues(route, strconv.Itoa(rec.status/100)+"xx").Observe(d.Seconds())
	level := slog.LevelInfo
	if rec.status >= 500 {
		level = slog.LevelError
	}
	s.log.LogAttrs(r.Context(), level, "request",
		slog.String("request_id", rid), slog.String("method", r.Method), slog.String("route", route),
		slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes), slog.Duration("duration", d),
		slog.String("remote", r.RemoteAddr))
}

type requestIDKey struct{}

func requestID(ctx context.Context) string { s, _ := ctx.Value(requestIDKey{}).(string); return s }

// recorder remembers the status and size of a response. With jsonify set
// (requests no route matched) it replaces the mux's text errors with JSON.
type recorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	jsonify     bool
	wroteHeader bool
	swallow     bool
}

func (r *recorder) WriteHeader(code int) {
	if r.wroteHeader {
		return
	}
	r.wroteHeader, r.status = true, code
	if r.jsonify && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		r.swallow = true
		ae := apiError(http.StatusNotFound, "not_found", "no such endpoint; see API.md")
		if code == http.StatusMethodNotAllowed {
			ae = apiError(code, "method_not_allowed", "method not allowed here; allowed: "+r.Header().Get("Allow"))
		}
		writeJSONError(r.ResponseWriter, ae)
		return
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if r.swallow {
		return len(b), nil
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// withTimeout bounds a request: the client gets a JSON 503 "timeout" when it
// runs out, and the request's context is cancelled, so work that has not
// started yet (waiting for the ledger) is skipped.
func (s *Server) withTimeout(h http.Handler, d time.Duration) http.Handler {
	body := `{"error":{"code":"timeout","message":"the request took longer than ` + d.String() + `; retrying is safe"}}` + "\n"
	th := http.TimeoutHandler(h, d, body)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		th.ServeHTTP(w, r)
	})
}

// readBody reads at most MaxBody bytes of a body whose media type is one of
// types.
func readBody(w http.ResponseWriter, r *http.Request, types ...string) ([]byte, string, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	ok := false
	for _, t := range types {
		ok = ok || (err == nil && mt == t)
	}
	if !ok {
		return nil, "", apiError(http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("Content-Type must be one of %v", types))
	}
	if r.ContentLength > MaxBody {
		return nil, "", apiError(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body larger than %d bytes", MaxBody))
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, "", apiError(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body larger than %d bytes", MaxBody))
		}
		return nil, "", apiError(http.StatusBadRequest, "malformed", "reading the request body: "+err.Error())
	}
	if len(b) == 0 {
		return nil, "", apiError(http.StatusBadRequest, "malformed", "empty request body")
	}
	return b, mt, nil
}

// write runs f as this process's only ledger writer, with the ledger's
// actor naming who asked (actor); a request whose context ends while it
// waits is not run at all.
func (s *Server) write(ctx context.Context, f func() error) error {
	select {
	case s.writes <- struct{}{}:
	case <-ctx.Done():
		return apiError(http.StatusServiceUnavailable, "timeout", "the server is busy; retrying is safe")
	}
	defer func() { <-s.writes }()
	if ctx.Err() != nil {
		return apiError(http.StatusServiceUnavailable, "timeout", "the server is busy; retrying is safe")
	}
	s.ledger.Actor = s.actor + ":device"
	if t, ok := ctx.Value(tokenKey{}).(*issuer.APIToken); ok {
		s.ledger.Actor = s.actor + ":token:" + t.Name
	}
	defer func() { s.ledger.Actor = s.actor }()
	return f()
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if _, _, err := s.ledger.LatestRevocationList(); err != nil && !errors.Is(err, issuer.ErrNoRevocationList) {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"ok"}`+"\n")
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish (for at most grace) and returns.
// With certFile and keyFile it serves TLS.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, certFile, keyFile string, grace time.Duration, log *slog.Logger) error {
	if grace <= 0 {
		grace = DefaultShutdownGrace
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
