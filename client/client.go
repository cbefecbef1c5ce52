// Package client is what a vendor application uses to talk to a seatkey
// licensing server (seatkey serve): activate on first start, check in now
// and then, return a seat, fetch the latest revocation list.
//
// It never makes offline verification depend on the network: the activation
// it returns is the same file the offline flow produces, verified with
// package verifier from then on without a server. When the server cannot be
// reached, errors match ErrUnavailable and the application falls back to the
// offline files (an activation request carried to the vendor).
//
// Requests that fail for a transient reason (network errors, 5xx, 429) are
// retried a bounded number of times with exponential backoff and full
// jitter; refusals (other 4xx) are returned at once as *Error. Retrying an
// activation is safe: the server answers a request it has seen with the
// activation it gave then.
//
// The package imports no server, SQL or hardware code.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/atomicfile"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// Errors. A refusal is an *Error matching ErrRefused; a server that could
// not be reached (after every attempt) matches ErrUnavailable.
var (
	ErrUnavailable = errors.New("licensing server unavailable")
	ErrRefused     = errors.New("refused by the licensing server")
)

// Error is a JSON error from the server: a stable Code (API.md) and a
// message for people.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("licensing server: %s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// Is makes a refusal (a 4xx other than 429) match ErrRefused.
func (e *Error) Is(target error) bool {
	return target == ErrRefused && e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests
}

// Defaults for Client.
const (
	DefaultTimeout    = 10 * time.Second
	DefaultAttempts   = 4
	DefaultBackoff    = 500 * time.Millisecond
	DefaultMaxBackoff = 15 * time.Second
)

// Client talks to one licensing server. The zero value of every field but
// BaseURL is a sensible default.
type Client struct {
	BaseURL string       // such as https://licensing.example.com
	HTTP    *http.Client // nil: http.DefaultTransport
	// Keys, when set, are the vendor's public keys: Activate then refuses an
	// answer that does not verify for the request's license and fingerprint.
	Keys *verifier.Keyring
	// Timeout bounds each attempt; Attempts bounds the tries (1 = no retry).
	Timeout  time.Duration
	Attempts int
	// Backoff is the first retry's ceiling; each retry doubles it, up to
	// MaxBackoff. The delay is drawn uniformly below the ceiling (full jitter).
	Backoff, MaxBackoff time.Duration

	sleep func(context.Context, time.Duration) error // tests
}

// Activation is an activation the server issued.
type Activation struct {
	Token      []byte // binary form; license.Armor(license.TypeActivation, Token) is the .act file
	Outcome    string // new-device, same-device, recommissioned, replayed
	Device     string // dev_...
	Activation string // act_...
	Overage    bool
	Failover   bool
}

// Armor returns the activation file's contents, as 'seatkey activate' writes it.
func (a *Activation) Armor() []byte { return license.Armor(license.TypeActivation, a.Token) }

// Activate sends req (made with activation.NewRequest on this machine) and
// returns the activation. With c.Keys set, the activation is verified
// against the request's license and fingerprint before it is returned.
func (c *Client) Activate(ctx context.Context, req *activation.Request) (*Activation, error) {
	body, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, "POST", "/v1/activations", "application/seatkey-activation-request", license.TypeActivation, body, license.MaxTokenSize)
	if err != nil {
		return nil, err
	}
	a := &Activation{Token: resp.body, Outcome: resp.header.Get("Seatkey-Outcome"), Device: resp.header.Get("Seatkey-Device"),
		Activation: resp.header.Get("Seatkey-Activation"), Overage: resp.header.Get("Seatkey-Overage") == "true", Failover: resp.header.Get("Seatkey-Failover") == "true"}
	if c.Keys != nil {
		if _, err := verifier.VerifyActivation(req.License, a.Token, req.Fingerprint, verifier.Options{Keys: c.Keys, AnyProduct: true}); err != nil {
			return nil, fmt.Errorf("licensing server answered with an activation that does not verify: %w", err)
		}
	}
	return a, nil
}

// CheckIn is what the server recorded for a check-in.
type CheckIn struct {
	Device             string    `json:"device"`
	Activation         string    `json:"activation"`
	License            string    `json:"license"`
	Status             string    `json:"status"`
	LastSeen           time.Time `json:"last_seen"`
	CheckIns           int64     `json:"checkins"`
	SuspectedDuplicate bool      `json:"suspected_duplicate"`
	// Token is the refreshed activation (binary form) when the license has
	// a lease (API.md §3.2): the same activation, signed again, expiring at
	// Expires. Save it (SaveActivation) and check in with it from then on;
	// nil without a lease.
	Token   []byte     `json:"token,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

// ErrBadRefresh is a refreshed activation that is not the activation the
// device checked in with, or does not verify.
var ErrBadRefresh = errors.New("licensing server answered with a refreshed activation that is not this device's")

type proof struct {
	Activation  []byte `json:"activation"`
	Fingerprint []byte `json:"fingerprint"`
}

func proofBody(activationToken []byte, current *fingerprint.Fingerprint) ([]byte, error) {
	tok, err := license.Decode(license.TypeActivation, activationToken)
	if err != nil {
		return nil, err
	}
	fp, err := current.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(proof{tok, fp})
}

// CheckIn tells the server that the device holding activationToken (any
// text form) runs on the machine whose fresh fingerprint is current (scope:
// the license's product).
func (c *Client) CheckIn(ctx context.Context, activationToken []byte, current *fingerprint.Fingerprint) (*CheckIn, error) {
	body, err := proofBody(activationToken, current)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, "POST", "/v1/checkins", "application/json", "application/json", body, 1<<20)
	if err != nil {
		return nil, err
	}
	var ci CheckIn
	if err := json.Unmarshal(resp.body, &ci); err != nil {
		return nil, fmt.Errorf("licensing server: check-in answer: %w", err)
	}
	if ci.Token != nil {
		if err := sameActivation(activationToken, ci.Token); err != nil {
			return nil, err
		}
	}
	return &ci, nil
}

// sameActivation checks that refreshed is the activation old is (same
// activation, license and device), issued later. Signatures are checked
// when the file is saved (SaveActivation) and whenever it is verified.
func sameActivation(old, refreshed []byte) error {
	o, _, _, err := activation.Inspect(old)
	if err != nil {
		return err
	}
	n, _, _, err := activation.Inspect(refreshed)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadRefresh, err)
	}
	if n.ID != o.ID || n.License != o.License || n.Device != o.Device || n.IssuedAt.Before(o.IssuedAt) {
		return fmt.Errorf("%w: %s of %s, want %s of %s issued after %s", ErrBadRefresh, n.ID, n.Device, o.ID, o.Device, o.IssuedAt.Format(time.RFC3339))
	}
	return nil
}

// SaveActivation replaces the activation file at path with token (a
// refreshed activation, or a new one), armored as 'seatkey activate' writes
// it, only if it verifies with keys for licenseToken on the machine whose
// fresh fingerprint is current (a TPM-bound activation up to its TPM proof,
// which needs the TPM). The file is replaced atomically: written to a
// temporary file in the same directory, synced, then renamed over path, so
// a crash leaves the old activation or the new one, never half of one.
func SaveActivation(path string, licenseToken, token []byte, current *fingerprint.Fingerprint, keys *verifier.Keyring) error {
	if keys == nil {
		return fmt.Errorf("%w: no vendor keys to verify it with", ErrBadRefresh)
	}
	_, err := verifier.VerifyActivation(licenseToken, token, current, verifier.Options{Keys: keys, AnyProduct: true})
	if err != nil && !errors.Is(err, verifier.ErrTPMRequired) {
		return fmt.Errorf("%w: %w", ErrBadRefresh, err)
	}
	return writeAtomic(path, license.Armor(license.TypeActivation, token))
}

func writeAtomic(path string, data []byte) error {
	if err := atomicfile.WriteBytes(path, data, 0o644, true); err != nil {
		return fmt.Errorf("saving the activation: %w", err)
	}
	return nil
}

// Return gives the device's seat back (the vendor's decommission). Delete the
// activation file afterwards: the server will refuse its check-ins.
func (c *Client) Return(ctx context.Context, activationToken []byte, current *fingerprint.Fingerprint) error {
	body, err := proofBody(activationToken, current)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, "POST", "/v1/returns", "application/json", "application/json", body, 1<<20)
	return err
}

// LatestRevocations fetches the latest revocation list and verifies it with
// keys. It returns the list and its binary token (to save for offline use).
func (c *Client) LatestRevocations(ctx context.Context, keys *verifier.Keyring) (*verifier.RevocationList, []byte, error) {
	resp, err := c.do(ctx, "GET", "/v1/revocations/latest", "", license.TypeRevocation, nil, license.MaxRevocationSize)
	if err != nil {
		return nil, nil, err
	}
	l, err := verifier.ParseRevocationList(resp.body, keys)
	if err != nil {
		return nil, nil, err
	}
	return l, resp.body, nil
}

// RunCheckIns checks in now and then every interval (with ±10 % jitter, so
// a fleet started together does not check in together) until ctx ends,
// reporting each outcome to report. current is called before each check-in
// for a fresh fingerprint. It never stops the application: failures are
// only reported. When a check-in returns a refreshed activation (a leased
// license), the next check-ins present it; report should save it
// (SaveActivation) so that the application keeps verifying offline. Check
// in well within the lease (a third of it, say), so that a few failed
// check-ins do not let it run out.
func (c *Client) RunCheckIns(ctx context.Context, interval time.Duration, activationToken []byte, current func() (*fingerprint.Fingerprint, error), report func(*CheckIn, error)) {
	for {
		fp, err := current()
		var ci *CheckIn
		if err == nil {
			ci, err = c.CheckIn(ctx, activationToken, fp)
		}
		if err == nil && ci.Token != nil {
			activationToken = ci.Token
		}
		if ctx.Err() != nil {
			return
		}
		report(ci, err)
		d := interval + time.Duration((rand.Float64()*0.2-0.1)*float64(interval))
		if c.pause(ctx, d) != nil {
			return
		}
	}
}

type response struct {
	header http.Header
	body   []byte
}

// do sends one request, retrying transient failures.
func (c *Client) do(ctx context.Context, method, path, contentType, accept string, body []byte, limit int64) (*response, error) {
	attempts := c.Attempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if err := c.pause(ctx, c.delay(i, last)); err != nil {
				return nil, fmt.Errorf("%w: %w (gave up: %w)", ErrUnavailable, last, err)
			}
		}
		resp, err := c.once(ctx, method, path, contentType, accept, body, limit)
		if err == nil {
			return resp, nil
		}
		var ae *Error
		if errors.As(err, &ae) && errors.Is(ae, ErrRefused) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		last = err
	}
	return nil, fmt.Errorf("%w after %d attempts: %w", ErrUnavailable, attempts, last)
}

// retryAfter carries a server's Retry-After into the backoff.
type retryAfter struct {
	err   *Error
	after time.Duration
}

func (r *retryAfter) Error() string { return r.err.Error() }
func (r *retryAfter) Unwrap() error { return r.err }

func (c *Client) delay(retry int, last error) time.Duration {
	base, max := c.Backoff, c.MaxBackoff
	if base <= 0 {
		base = DefaultBackoff
	}
	if max <= 0 {
		max = DefaultMaxBackoff
	}
	ceil := base << (retry - 1)
	if ceil > max || ceil <= 0 {
		ceil = max
	}
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	var ra *retryAfter
	if errors.As(last, &ra) && ra.after > d {
		d = min(ra.after, max)
	}
	return d
}

func (c *Client) pause(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) once(ctx context.Context, method, path, contentType, accept string, body []byte, limit int64) (*response, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("licensing server: answer larger than %d bytes", limit)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &response{header: resp.Header, body: b}, nil
	}
	ae := &Error{Status: resp.StatusCode, Code: "http_" + strconv.Itoa(resp.StatusCode), Message: http.StatusText(resp.StatusCode)}
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(b, &e) == nil && e.Error.Code != "" {
		ae.Code, ae.Message = e.Error.Code, e.Error.Message
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return nil, &retryAfter{ae, time.Duration(n) * time.Second}
		}
	}
	return nil, ae
}
