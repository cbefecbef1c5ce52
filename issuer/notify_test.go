package issuer

import (
	"bufio"
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
	ok, failed, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Backoff: time.Millisecond})
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
	_, failed, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Retries: 1, Backoff: time.Millisecond})
	srv.Close()
	if err != nil || failed != 3 {
		t.Fatalf("failed %d: %v", failed, err)
	}
	pending, _ := l.Notifications(true)
	if len(pending) != 3 || pending[0].Attempts != 1 || !strings.Contains(pending[0].LastError, "500") {
		t.Fatalf("pending after failure: %+v", pending)
	}
	gone := &Webhook{URL: srv.URL, Retries: 1, Backoff: time.Millisecond} // server closed: network errors
	if _, failed, _ := l.Deliver(context.Background(), gone); failed != 3 {
		t.Fatal("delivered to a closed server")
	}
	rejecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer rejecting.Close()
	var n Notification
	if err := (&Webhook{URL: rejecting.URL}).Notify(context.Background(), &n); !errors.Is(err, ErrPermanent) {
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

func TestWebhookSignature(t *testing.T) {
	l := ledgerWithNotifications(t)
	secret := []byte("shared secret from the vendor's settings")
	var verified, refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := VerifyWebhook(secret, r.Header.Get("Seatkey-Signature"), body, time.Now(), 5*time.Minute); err != nil {
			refused.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		verified.Add(1)
	}))
	defer srv.Close()
	if ok, _, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Secret: []byte("wrong secret")}); err != nil || ok != 0 || refused.Load() != 3 {
		t.Fatalf("wrong secret: delivered %d, refused %d, %v", ok, refused.Load(), err)
	}
	if ok, _, err := l.Deliver(context.Background(), &Webhook{URL: srv.URL, Secret: secret}); err != nil || ok != 3 || verified.Load() != 3 {
		t.Fatalf("right secret: delivered %d, %v", ok, err)
	}
	body := []byte(`{"id":1}`)
	old := SignWebhook(secret, time.Now().Add(-time.Hour), body)
	if err := VerifyWebhook(secret, old, body, time.Now(), 5*time.Minute); err == nil {
		t.Fatal("an hour-old signature accepted (replay)")
	}
	if err := VerifyWebhook(secret, SignWebhook(secret, time.Now(), body), []byte(`{"id":2}`), time.Now(), time.Minute); err == nil {
		t.Fatal("signature accepted for another body")
	}
}
