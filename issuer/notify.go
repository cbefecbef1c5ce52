package issuer

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Notifier delivers one notification.
type Notifier interface {
	Notify(ctx context.Context, n *Notification) error
}

// ErrPermanent marks a delivery failure that retrying will not fix.
var ErrPermanent = errors.New("permanent delivery failure")

// Webhook POSTs each notification as JSON to URL, retrying network errors
// and 5xx answers with exponential backoff; a 4xx answer is permanent.
type Webhook struct {
	URL string
	// Secret, when set, signs each request: the header Seatkey-Signature is
	// "t=<unix time>,v1=<hex HMAC-SHA256(Secret, "<unix time>." + body)>",
	// so the receiver can check who sent it and refuse old replays.
	Secret  []byte
	Client  *http.Client  // nil: a client with a 10 s timeout
	Retries int           // attempts after the first; default 3
	Backoff time.Duration // first wait; doubles; default 500 ms
}

type webhookBody struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
}

func (w *Webhook) Notify(ctx context.Context, n *Notification) error {
	body, _ := json.Marshal(webhookBody{n.ID, n.At, n.Kind, n.Recipient, n.Subject, n.Body})
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	retries, wait := w.Retries, w.Backoff
	if retries == 0 {
		retries = 3
	}
	if wait == 0 {
		wait = 500 * time.Millisecond
	}
	var last error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			wait *= 2
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%w: %v", ErrPermanent, err)
		}
		req.Header.Set("Content-Type", "application/json")
		if len(w.Secret) > 0 {
			req.Header.Set("Seatkey-Signature", SignWebhook(w.Secret, time.Now(), body))
		}
		req.Header.Set("Idempotency-Key", fmt.Sprintf("seatkey-notification-%d", n.ID))
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return nil
		case resp.StatusCode < 500:
			return fmt.Errorf("%w: webhook answered %s", ErrPermanent, resp.Status)
		default:
			last = fmt.Errorf("webhook answered %s", resp.Status)
		}
	}
	return last
}

// SignWebhook returns the Seatkey-Signature header value for body sent at t.
func SignWebhook(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks a Seatkey-Signature header: the HMAC must match and
// the time must be within tolerance of now. Receivers use it.
func VerifyWebhook(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			ts = v
		} else if v, ok := strings.CutPrefix(part, "v1="); ok {
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errors.New("webhook signature header malformed")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("webhook signature too old or from the future")
	}
	want := SignWebhook(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return errors.New("webhook signature does not match")
	}
	return nil
}

// SMTP sends each notification as a plain-text email.
type SMTP struct {
	Addr string    // host:port
	From string    // envelope and header sender
	Auth smtp.Auth // nil: no authentication
}

func (s *SMTP) Notify(ctx context.Context, n *Notification) error {
	if n.Recipient == "" || strings.ContainsAny(n.Recipient, "\r\n") {
		return fmt.Errorf("%w: no usable recipient", ErrPermanent)
	}
	subject := strings.NewReplacer("\r", " ", "\n", " ").Replace(n.Subject)
	msg := "From: " + s.From + "\r\nTo: " + n.Recipient + "\r\nSubject: " + subject +
		"\r\nDate: " + n.At.Format(time.RFC1123Z) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.ReplaceAll(n.Body, "\n", "\r\n") + "\r\n"
	return smtp.SendMail(s.Addr, s.Auth, s.From, []string{n.Recipient}, []byte(msg))
}

// Deliver sends every pending notification through nt. A delivered one is
// marked with the time; a failed one stays pending with its error and
// attempt count, so nothing is lost and a later run tries again.
func (l *Ledger) Deliver(ctx context.Context, nt Notifier) (delivered, failed int, err error) {
	pending, err := l.Notifications(true)
	if err != nil {
		return 0, 0, err
	}
	for i := range pending {
		n := &pending[i]
		derr := nt.Notify(ctx, n)
		if derr == nil {
			_, err = l.db.Exec(`UPDATE notifications SET delivered_at = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, l.now().Unix(), n.ID)
			delivered++
		} else {
			_, err = l.db.Exec(`UPDATE notifications SET attempts = attempts + 1, last_error = ? WHERE id = ?`, derr.Error(), n.ID)
			failed++
		}
		if err != nil {
			return delivered, failed, err
		}
	}
	return delivered, failed, nil
}
