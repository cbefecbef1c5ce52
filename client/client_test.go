package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/server"
	"github.com/seatkey/seatkey/verifier"
)

const product = "ledgerpro"

type env struct {
	l   *issuer.Ledger
	key *issuer.Key
	srv http.Handler
	lic []byte
}

func newEnv(t *testing.T, seats int) *env {
	l, err := issuer.CreateLedger(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	key, _ := issuer.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	lic, err := key.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: seats,
		Kind: license.Subscription, IssuedAt: time.Now().Add(-time.Hour), Expires: time.Now().AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.RecordLicense(key, lic, issuer.LicensePolicy{MigrationGrace: -1}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Ledger: l, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return &env{l, key, srv, lic}
}

func machine(n int) *fingerprint.Fingerprint {
	p := &fingerprint.Profile{}
	p.Set(fingerprint.CPU, "GenuineIntel|Xeon Gold 6338")
	p.Set(fingerprint.BoardModel, "Dell Inc.|0PJ7YJ")
	p.Set(fingerprint.BoardSerial, fmt.Sprintf("BRD%07d", n))
	p.Set(fingerprint.SystemUUID, fmt.Sprintf("4c4c4544-0000-0000-0000-%012d", n))
	p.Set(fingerprint.SystemSerial, fmt.Sprintf("SVC%05d", n))
	p.Set(fingerprint.Disks, fmt.Sprintf("wwn:0x5002%012x", 2*n))
	p.Set(fingerprint.NICs, fmt.Sprintf("b0:7b:25:00:00:%02x", n))
	return p.Digest(product)
}

// sleeps records the backoff delays instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func TestActivateCheckInReturnRevocations(t *testing.T) {
	e := newEnv(t, 1)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	keys := verifier.NewKeyring(e.key.Public())
	c := &Client{BaseURL: ts.URL, Keys: keys}
	ctx := context.Background()
	req, _ := activation.NewRequest(e.lic, machine(1), "host-1", false)
	a, err := c.Activate(ctx, req)
	if err != nil || a.Outcome != "new-device" {
		t.Fatalf("%+v %v", a, err)
	}
	// From now on, offline: the saved file verifies with no server at all.
	if _, err := verifier.VerifyActivation(e.lic, a.Armor(), machine(1), verifier.Options{Keys: keys, Product: product}); err != nil {
		t.Fatal(err)
	}
	ci, err := c.CheckIn(ctx, a.Armor(), machine(1))
	if err != nil || ci.Device != a.Device || ci.CheckIns != 1 || ci.Status != "active" {
		t.Fatalf("%+v %v", ci, err)
	}
	// A refusal comes back at once, typed, without retries.
	req2, _ := activation.NewRequest(e.lic, machine(2), "host-2", false)
	_, err = c.Activate(ctx, req2)
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != "seats_exhausted" || !errors.Is(err, ErrRefused) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("%v", err)
	}
	if _, _, err := c.LatestRevocations(ctx, keys); !errors.As(err, &ae) || ae.Code != "no_revocation_list" {
		t.Fatalf("%v", err)
	}
	if _, err := e.l.Revoke(a.Activation, license.ReasonAbuse, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.l.PublishRevocationList(e.key, "Acme", time.Hour); err != nil {
		t.Fatal(err)
	}
	list, tok, err := c.LatestRevocations(ctx, keys)
	if err != nil || list.Sequence != 1 || len(tok) == 0 {
		t.Fatalf("%v", err)
	}
	if _, err := verifier.VerifyActivation(e.lic, a.Token, machine(1), verifier.Options{Keys: keys, Product: product, Revocations: list}); !errors.Is(err, verifier.ErrRevoked) {
		t.Fatalf("revoked activation still verifies offline: %v", err)
	}
	if _, _, err := c.LatestRevocations(ctx, verifier.NewKeyring(machineKey(t))); !errors.Is(err, verifier.ErrUnknownKey) {
		t.Fatalf("list signed by an untrusted key accepted: %v", err)
	}
	if err := c.Return(ctx, a.Token, machine(1)); !errors.Is(err, ErrRefused) {
		t.Fatalf("return of a revoked activation: %v", err)
	}
}

func machineKey(t *testing.T) license.PublicKey {
	k, _ := issuer.GenerateKey()
	return k.Public()
}

// Transient failures are retried with growing, jittered delays; the
// activation is not duplicated by the retries.
func TestRetriesTransientFailures(t *testing.T) {
	e := newEnv(t, 5)
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			http.Error(w, "down", http.StatusBadGateway)
		case 2:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
		case 3:
			e.srv.ServeHTTP(httptest.NewRecorder(), r) // the server did it, the answer was lost
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		default:
			e.srv.ServeHTTP(w, r)
		}
	}))
	defer ts.Close()
	s := &sleeps{}
	c := &Client{BaseURL: ts.URL, Attempts: 5, Backoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, sleep: s.sleep}
	req, _ := activation.NewRequest(e.lic, machine(1), "host-1", false)
	a, err := c.Activate(context.Background(), req)
	if err != nil || a.Outcome != "replayed" || calls.Load() != 4 {
		t.Fatalf("%+v %v after %d calls", a, err, calls.Load())
	}
	if len(s.d) != 3 || s.d[0] > 100*time.Millisecond || s.d[1] < 3*time.Second || s.d[2] > 400*time.Millisecond {
		t.Fatalf("delays %v", s.d)
	}
	sum, _ := e.l.Summaries(issuer.Filter{})
	if sum[0].Used != 1 {
		t.Fatalf("retries took %d seats", sum[0].Used)
	}
}

func TestUnavailableIsBoundedAndTyped(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close() // nothing listens there any more
	s := &sleeps{}
	c := &Client{BaseURL: url, Attempts: 4, Backoff: time.Second, MaxBackoff: 3 * time.Second, sleep: s.sleep}
	e := newEnv(t, 1)
	req, _ := activation.NewRequest(e.lic, machine(1), "host-1", false)
	_, err := c.Activate(context.Background(), req)
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRefused) {
		t.Fatalf("%v", err)
	}
	if len(s.d) != 3 {
		t.Fatalf("%d retries, want 3", len(s.d))
	}
	for i, ceil := range []time.Duration{time.Second, 2 * time.Second, 3 * time.Second} {
		if s.d[i] < 0 || s.d[i] > ceil {
			t.Errorf("delay %d = %v, ceiling %v", i, s.d[i], ceil)
		}
	}
	// A cancelled context stops retrying at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.d = nil
	if _, err := c.Activate(ctx, req); !errors.Is(err, ErrUnavailable) || len(s.d) > 1 {
		t.Fatalf("%v, %d sleeps", err, len(s.d))
	}
}

func TestNoRetryOnRefusal(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"code":"customer_suspended","message":"Globex is suspended"}}`))
	}))
	defer ts.Close()
	e := newEnv(t, 1)
	c := &Client{BaseURL: ts.URL, sleep: (&sleeps{}).sleep}
	req, _ := activation.NewRequest(e.lic, machine(1), "host-1", false)
	_, err := c.Activate(context.Background(), req)
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != "customer_suspended" || ae.Status != 403 || calls.Load() != 1 {
		t.Fatalf("%v after %d calls", err, calls.Load())
	}
}

// A server (or anything in between) that answers with an activation the
// vendor's keys do not verify is refused by the client.
func TestActivateVerifiesTheAnswer(t *testing.T) {
	e := newEnv(t, 5)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	c := &Client{BaseURL: ts.URL, Keys: verifier.NewKeyring(machineKey(t))}
	req, _ := activation.NewRequest(e.lic, machine(1), "host-1", false)
	if _, err := c.Activate(context.Background(), req); !errors.Is(err, verifier.ErrUnknownKey) {
		t.Fatalf("%v", err)
	}
}

func TestRunCheckIns(t *testing.T) {
	e := newEnv(t, 5)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	c := &Client{BaseURL: ts.URL}
	req, _ := activation.NewRequest(e.lic, machine(1), "host-1", false)
	a, err := c.Activate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var got []int64
	c.RunCheckIns(ctx, time.Millisecond, a.Token, func() (*fingerprint.Fingerprint, error) { return machine(1), nil }, func(ci *CheckIn, err error) {
		if err != nil {
			t.Error(err)
			cancel()
			return
		}
		if got = append(got, ci.CheckIns); len(got) == 3 {
			cancel()
		}
	})
	if len(got) != 3 || got[2] != 3 {
		t.Fatalf("%v", got)
	}
}

// leasedEnv is newEnv with a one-week lease and a clock the test moves.
func leasedEnv(t *testing.T, now *time.Time) *env {
	e := newEnv(t, 5)
	e.l.Now = func() time.Time { return *now }
	lic, err := e.key.Mint(license.Claims{Vendor: "Acme", Customer: "Leased", Product: product, Edition: "pro", Seats: 5,
		Kind: license.Subscription, IssuedAt: now.Add(-time.Hour), Expires: now.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.l.RecordLicense(e.key, lic, issuer.LicensePolicy{Lease: 7 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	e.lic = lic
	return e
}

// A leased license: the check-in returns the refreshed activation, which
// SaveActivation stores only if it verifies for this license and machine,
// atomically; RunCheckIns checks in with the newest one, so a device that
// checks in every five days on a one-week lease keeps going.
func TestLeaseRefreshSavedAndUsed(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	e := leasedEnv(t, &now)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	keys := verifier.NewKeyring(e.key.Public())
	c := &Client{BaseURL: ts.URL, Keys: keys}
	ctx := context.Background()
	req, _ := activation.NewRequest(e.lic, machine(1), "host-1", false)
	a, err := c.Activate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "app.act")
	if err := os.WriteFile(path, a.Armor(), 0o644); err != nil {
		t.Fatal(err)
	}
	now = now.Add(24 * time.Hour)
	ci, err := c.CheckIn(ctx, a.Armor(), machine(1))
	if err != nil || ci.Token == nil || ci.Expires == nil || !ci.Expires.Equal(now.Add(7*24*time.Hour)) {
		t.Fatalf("%+v %v", ci, err)
	}
	// Refused: keys that did not sign it, another machine, no keys. The
	// file is unchanged each time.
	for _, tc := range []struct {
		name string
		keys *verifier.Keyring
		fp   *fingerprint.Fingerprint
	}{{"untrusted key", verifier.NewKeyring(machineKey(t)), machine(1)}, {"another machine", keys, machine(2)}, {"no keys", nil, machine(1)}} {
		if err := SaveActivation(path, e.lic, ci.Token, tc.fp, tc.keys); !errors.Is(err, ErrBadRefresh) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if b, _ := os.ReadFile(path); !bytes.Equal(b, a.Armor()) {
			t.Fatalf("%s: the file was replaced", tc.name)
		}
	}
	if err := SaveActivation(path, e.lic, ci.Token, machine(1), keys); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, license.Armor(license.TypeActivation, ci.Token)) {
		t.Fatal("the refreshed activation was not saved")
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	// Every five days for a month: each check-in presents the newest token
	// (the first one's lease ended on day 7).
	var got []time.Time
	cctx, cancel := context.WithCancel(ctx)
	c.RunCheckIns(cctx, time.Millisecond, a.Token, func() (*fingerprint.Fingerprint, error) { return machine(1), nil }, func(ci *CheckIn, err error) {
		if err != nil {
			t.Error(err)
			cancel()
			return
		}
		got = append(got, *ci.Expires)
		if now = now.Add(5 * 24 * time.Hour); len(got) == 6 {
			cancel()
		}
	})
	if len(got) != 6 {
		t.Fatalf("check-ins: %v", got)
	}
}

// A server (or a machine in the middle) answering a check-in with another
// device's activation is refused before anything can be saved.
func TestRefreshOfAnotherActivationRefused(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	e := leasedEnv(t, &now)
	ts := httptest.NewServer(e.srv)
	defer ts.Close()
	c := &Client{BaseURL: ts.URL}
	ctx := context.Background()
	var toks [][]byte
	for i := 1; i <= 2; i++ {
		req, _ := activation.NewRequest(e.lic, machine(i), "host", false)
		a, err := c.Activate(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, a.Token)
	}
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"device": "x", "token": toks[1]})
	}))
	defer evil.Close()
	if _, err := (&Client{BaseURL: evil.URL}).CheckIn(ctx, toks[0], machine(1)); !errors.Is(err, ErrBadRefresh) {
		t.Fatalf("another device's activation as a refresh: %v", err)
	}
}
