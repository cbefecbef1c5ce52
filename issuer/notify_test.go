package issuer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// ledgerWithNotifications makes three notifications: 90 %, 100 %, overage.
func ledgerWithNotifications(t *testing.T) *Ledger {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 10, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{OverageAllowed: true, OveragePriceCents: 5000, Contact: "it@globex.example"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 11; i++ {
		if _, err := l.Activate(k, requestFor(t, tok, syntheticMachine(i), fmt.Sprint("m", i), false)); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestWebhookDeliveryWithRetries(t *testing.T) {
	l := ledgerWithNotifications(t)
	var calls atomic.Int32
	var mu sync.Mutex
	var kinds []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 1 { // every first attempt fails
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var b webhookBody
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || r.Header.Get("Idempotency-Key") == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		kinds = append(kinds, b.Kind)
		mu.Unlock()
	}))
	defer srv.Close()
	ok, failed, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Secret: testSecret, Backoff: time.Millisecond})
	if err != nil || ok != 3 || failed != 0 {
		t.Fatalf("delivered %d, failed %d: %v", ok, failed, err)
	}
	if strings.Join(kinds, ",") != "usage-threshold,usage-full,overage" || calls.Load() != 6 {
		t.Fatalf("kinds %v after %d calls", kinds, calls.Load())
	}
	if pending, _ := l.Notifications(true); len(pending) != 0 {
		t.Fatalf("still pending: %v", pending)
	}
}

func TestWebhookFailureKeepsNotificationsPending(t *testing.T) {
	l := ledgerWithNotifications(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	_, failed, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Secret: testSecret, Retries: 1, Backoff: time.Millisecond})
	srv.Close()
	if err != nil || failed != 3 {
		t.Fatalf("failed %d: %v", failed, err)
	}
	pending, _ := l.Notifications(true)
	if len(pending) != 3 || pending[0].Attempts != 1 || !strings.Contains(pending[0].LastError, "500") {
		t.Fatalf("pending after failure: %+v", pending)
	}
	gone := &Webhook{URL: srv.URL, Secret: testSecret, Retries: 1, Backoff: time.Millisecond} // server closed: network errors
	if _, failed, _ := l.Deliver(context.Background(), gone); failed != 3 {
		t.Fatal("delivered to a closed server")
	}
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer rejecting.Close()
	var n Notification
	if err := (&Webhook{URL: rejecting.URL, Secret: testSecret}).Notify(context.Background(), &n); !errors.Is(err, ErrPermanent) {
		t.Fatalf("403 should be permanent: %v", err)
	}
}

// smtpServer is a minimal SMTP listener on loopback that records messages.
func smtpServer(t *testing.T) (addr string, messages func() []string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var msgs []string
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				r := bufio.NewReader(c)
				fmt.Fprint(c, "220 test ESMTP\r\n")
				var data strings.Builder
				inData := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if inData {
						if line == ".\r\n" {
							inData = false
							mu.Lock()
							msgs = append(msgs, data.String())
							mu.Unlock()
							fmt.Fprint(c, "250 queued\r\n")
						} else {
							data.WriteString(line)
						}
						continue
					}
					switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
					case "EHLO", "HELO":
						fmt.Fprint(c, "250 test\r\n")
					case "DATA":
						inData = true
						data.Reset()
						fmt.Fprint(c, "354 go on\r\n")
					case "QUIT":
						fmt.Fprint(c, "221 bye\r\n")
						return
					default:
						fmt.Fprint(c, "250 ok\r\n")
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String(), func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), msgs...) }
}

func TestSMTPDelivery(t *testing.T) {
	l := ledgerWithNotifications(t)
	addr, messages := smtpServer(t)
	ok, failed, err := l.Deliver(context.Background(), &SMTP{Addr: addr, From: "licensing@acme.example"})
	if err != nil || ok != 3 || failed != 0 {
		t.Fatalf("delivered %d, failed %d: %v", ok, failed, err)
	}
	msgs := messages()
	if len(msgs) != 3 || !strings.Contains(msgs[2], "To: it@globex.example") || !strings.Contains(msgs[2], "overage device") || !strings.Contains(msgs[2], "50.00 USD") {
		t.Fatalf("messages: %q", msgs)
	}
}

var testSecret = []byte("shared secret from the vendor's settings")

func TestWebhookSignature(t *testing.T) {
	l := ledgerWithNotifications(t)
	secret := testSecret
	var verified, refused atomic.Int32
	var mu sync.Mutex
	ids := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := VerifyWebhook(secret, r.Header, body, time.Now(), 5*time.Minute)
		if err != nil {
			refused.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		ids[id] = true
		mu.Unlock()
		verified.Add(1)
	}))
	defer srv.Close()
	if ok, _, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Secret: []byte("a wrong secret, long enough")}); err != nil || ok != 0 || refused.Load() != 3 {
		t.Fatalf("wrong secret: delivered %d, refused %d, %v", ok, refused.Load(), err)
	}
	if ok, _, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Secret: secret}); err != nil || ok != 3 || verified.Load() != 3 {
		t.Fatalf("right secret: delivered %d, %v", ok, err)
	}
	if len(ids) != 3 {
		t.Fatalf("three notifications arrived with %d distinct event IDs", len(ids))
	}
	body := []byte(`{"id":1}`)
	id := "evt_" + strings.Repeat("a", 26)
	signed := func(id string, at time.Time, b []byte) http.Header {
		h := http.Header{}
		h.Set(HeaderEventID, id)
		h.Set(HeaderSignature, SignWebhook(secret, id, at, b))
		return h
	}
	if got, err := VerifyWebhook(secret, signed(id, time.Now(), body), body, time.Now(), time.Minute); err != nil || got != id {
		t.Fatalf("valid webhook: %q, %v", got, err)
	}
	for name, h := range map[string]http.Header{
		"an hour old (replay after the window)": signed(id, time.Now().Add(-time.Hour), body),
		"signed for another body":               signed(id, time.Now(), []byte(`{"id":2}`)),
		"event ID swapped after signing": func() http.Header {
			h := signed(id, time.Now(), body)
			h.Set(HeaderEventID, "evt_"+strings.Repeat("b", 26))
			return h
		}(),
		"no event ID":  func() http.Header { h := signed(id, time.Now(), body); h.Del(HeaderEventID); return h }(),
		"no signature": func() http.Header { h := signed(id, time.Now(), body); h.Del(HeaderSignature); return h }(),
	} {
		if _, err := VerifyWebhook(secret, h, body, time.Now(), time.Minute); !errors.Is(err, ErrWebhookSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A receiver that keeps the IDs it has seen refuses a captured webhook
// replayed inside the time window: the signature alone cannot.
func TestWebhookReplay(t *testing.T) {
	l := ledgerWithNotifications(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	var captured *http.Request
	var capturedBody []byte
	var accepted, replays atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := VerifyWebhook(testSecret, r.Header, body, time.Now(), 5*time.Minute)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if seen[id] {
			replays.Add(1)
			return // already processed: acknowledge, do nothing
		}
		seen[id] = true
		accepted.Add(1)
		if captured == nil {
			captured, capturedBody = r, body
		}
	}))
	defer srv.Close()
	if ok, _, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Secret: testSecret}); err != nil || ok != 3 {
		t.Fatalf("delivered %d: %v", ok, err)
	}
	// The attacker resends the captured request, headers and all, a second later.
	req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(capturedBody))
	req.Header = captured.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || accepted.Load() != 3 || replays.Load() != 1 {
		t.Fatalf("replay: status %d, accepted %d, replays %d", resp.StatusCode, accepted.Load(), replays.Load())
	}
}

// A webhook with an empty or short secret sends nothing, and the
// notifications stay pending untouched.
func TestWebhookNeedsSecret(t *testing.T) {
	l := ledgerWithNotifications(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	for _, secret := range [][]byte{nil, {}, []byte("short")} {
		if _, _, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Secret: secret}); !errors.Is(err, ErrWebhookSecret) {
			t.Fatalf("secret %q: %v", secret, err)
		}
		if err := (&Webhook{URL: srv.URL, Secret: secret}).Notify(context.Background(), &Notification{}); !errors.Is(err, ErrPermanent) {
			t.Fatalf("Notify with secret %q: %v", secret, err)
		}
	}
	if calls.Load() != 0 {
		t.Fatalf("%d unsigned requests sent", calls.Load())
	}
	if pending, _ := l.Notifications(true); len(pending) != 3 || pending[0].Attempts != 0 {
		t.Fatalf("pending after refusal: %+v", pending)
	}
}

// slowNotifier records every notification it is asked to send, slowly.
type slowNotifier struct {
	mu   sync.Mutex
	sent map[int64]int
}

func (s *slowNotifier) Notify(ctx context.Context, n *Notification) error {
	time.Sleep(2 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent[n.ID]++
	return nil
}

// TestConcurrentDeliverersSendOnce: two deliverers at once (two server
// instances, or two 'seatkey notify') send each notification exactly once
// (found in review: both sent every one).
func TestConcurrentDeliverersSendOnce(t *testing.T) {
	l := ledgerWithNotifications(t)
	pending, err := l.Notifications(true)
	if err != nil || len(pending) < 3 {
		t.Fatalf("%d pending, %v", len(pending), err)
	}
	nt := &slowNotifier{sent: map[int64]int{}}
	var wg sync.WaitGroup
	var total atomic.Int64
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, _, err := l.Deliver(context.Background(), nt)
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(d))
		}()
	}
	wg.Wait()
	for _, n := range pending {
		if nt.sent[n.ID] != 1 {
			t.Errorf("notification %d sent %d times", n.ID, nt.sent[n.ID])
		}
	}
	if left, _ := l.Notifications(true); len(left) != 0 || int(total.Load()) != len(pending) {
		t.Fatalf("%d left pending, %d reported delivered of %d", len(left), total.Load(), len(pending))
	}
}
