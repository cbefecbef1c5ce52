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

	"github.com/seatkey/seatkey/license"
)

// Notifier delivers one notification.
type Notifier interface {
	Notify(ctx context.Context, n *Notification) error
}

// claimLapse is how long a deliverer's claim on a notification holds if it
// never reports back: longer than any delivery with its retries.
const claimLapse = 10 * time.Minute

// claimMigration lets a deliverer claim a notification before sending it.
const claimMigration = `ALTER TABLE notifications ADD COLUMN claimed_until INTEGER;`

// ErrPermanent marks a delivery failure that retrying will not fix.
var ErrPermanent = errors.New("permanent delivery failure")

// Webhook POSTs each notification as JSON to URL, retrying network errors
// and 5xx answers with exponential backoff; a 4xx answer is permanent.
//
// Every request is signed (SPEC.md section 10.6). It carries a unique event
// ID in the header Seatkey-Event-Id, the same on every retry of one
// notification, and the header Seatkey-Signature
// "t=<unix time>,v1=<hex HMAC-SHA256(Secret, id "." time "." body)>". A
// receiver checks it with VerifyWebhook, which returns the ID, and drops an
// ID it has already seen: the time window alone does not stop a captured
// request from being replayed inside it.
type Webhook struct {
	URL string
	// Secret is shared with the receiver: at least MinWebhookSecret bytes.
	// An empty or short secret is refused rather than sending requests
	// anyone could forge.
	Secret  []byte
	Client  *http.Client  // nil: a client with a 10 s timeout
	Retries int           // attempts after the first; default 3
	Backoff time.Duration // first wait; doubles; default 500 ms
}

// MinWebhookSecret is the shortest webhook secret accepted, in bytes.
const MinWebhookSecret = 16

// ErrWebhookSecret is a webhook secret that is empty or too short.
var ErrWebhookSecret = errors.New("webhook secret missing or shorter than 16 bytes: webhooks are always signed")

// ErrWebhookSignature is a request whose Seatkey-Signature or
// Seatkey-Event-Id is missing, malformed, too old or does not match.
var ErrWebhookSignature = errors.New("webhook signature not valid")

// Header names of a signed webhook.
const (
	HeaderSignature = "Seatkey-Signature"
	HeaderEventID   = "Seatkey-Event-Id"
)

type webhookBody struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	Kind      string    `json:"kind"`
	Recipient string    `json:"recipient"`
	Subject   string    `json:"subject"`
	Body      string    `json:"body"`
}

// Check reports whether the webhook can send at all: Deliver calls it before
// touching any notification.
func (w *Webhook) Check() error {
	if len(w.Secret) < MinWebhookSecret {
		return fmt.Errorf("%w (got %d bytes)", ErrWebhookSecret, len(w.Secret))
	}
	return nil
}

// EventID is the unique ID of a notification's webhook event: "evt_" and 26
// letters, derived from everything the notification says, so every retry of
// one notification carries the same ID and two notifications never do.
func EventID(n *Notification) string {
	h := sha256.New()
	fmt.Fprintf(h, "seatkey webhook event\x00%d\x00%d\x00%s\x00%s\x00%s\x00%s", n.ID, n.At.UnixNano(), n.Kind, n.Recipient, n.Subject, n.Body)
	return license.FormatID("evt", h.Sum(nil)[:16])
}

func (w *Webhook) Notify(ctx context.Context, n *Notification) error {
	if err := w.Check(); err != nil {
		return fmt.Errorf("%w: %v", ErrPermanent, err)
	}
	body, _ := json.Marshal(webhookBody{n.ID, n.At, n.Kind, n.Recipient, n.Subject, n.Body})
	id := EventID(n)
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
		req.Header.Set(HeaderEventID, id)
		req.Header.Set(HeaderSignature, SignWebhook(w.Secret, id, time.Now(), body))
		req.Header.Set("Idempotency-Key", id)
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

// SignWebhook returns the Seatkey-Signature header value for event id with
// body, sent at t: "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, id "." t "." body)>".
func SignWebhook(secret []byte, id string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(secret, id, ts, body))
}

func webhookMAC(secret []byte, id, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyWebhook checks a received webhook: the Seatkey-Event-Id header is an
// event ID, the Seatkey-Signature header is well-formed, its time is within
// tolerance of now, and its HMAC covers that ID, that time and body. It
// returns the event ID: the receiver MUST drop an ID it has already
// processed (keep the IDs seen for at least twice the tolerance), because a
// captured request can be replayed inside the window. Every refusal matches
// ErrWebhookSignature.
func VerifyWebhook(secret []byte, h http.Header, body []byte, now time.Time, tolerance time.Duration) (id string, err error) {
	if len(secret) < MinWebhookSecret {
		return "", ErrWebhookSecret
	}
	id = h.Get(HeaderEventID)
	if _, err := license.ParseIDBytes("evt", id, 16); err != nil {
		return "", fmt.Errorf("%w: %s header missing or malformed", ErrWebhookSignature, HeaderEventID)
	}
	var ts, sig string
	for _, part := range strings.Split(h.Get(HeaderSignature), ",") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			ts = v
		} else if v, ok := strings.CutPrefix(part, "v1="); ok {
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	got, herr := hex.DecodeString(sig)
	if err != nil || herr != nil || len(got) != sha256.Size || strconv.FormatInt(sec, 10) != ts {
		return "", fmt.Errorf("%w: %s header malformed", ErrWebhookSignature, HeaderSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return "", fmt.Errorf("%w: signed at %s, more than %v from now", ErrWebhookSignature, time.Unix(sec, 0).UTC().Format(time.RFC3339), tolerance)
	}
	if !hmac.Equal(got, webhookMAC(secret, id, ts, body)) {
		return "", fmt.Errorf("%w: HMAC does not match", ErrWebhookSignature)
	}
	return id, nil
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
	if c, ok := nt.(interface{ Check() error }); ok {
		if err := c.Check(); err != nil {
			return 0, 0, err
		}
	}
	pending, err := l.Notifications(true)
	if err != nil {
		return 0, 0, err
	}
	for i := range pending {
		n := &pending[i]
		// Claim it first: of two deliverers running at once (two
		// instances, or two 'seatkey notify'), one sends it. A claim that
		// was never finished (the process died while sending) lapses.
		now := l.now().Unix()
		res, err := l.db.Exec(`UPDATE notifications SET claimed_until = ? WHERE id = ? AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ?)`,
			now+int64(claimLapse/time.Second), n.ID, now)
		if err != nil {
			return delivered, failed, err
		}
		if k, err := res.RowsAffected(); err != nil || k != 1 {
			continue // delivered or being delivered by another
		}
		derr := nt.Notify(ctx, n)
		if derr == nil {
			_, err = l.db.Exec(`UPDATE notifications SET delivered_at = ?, attempts = attempts + 1, last_error = '', claimed_until = NULL WHERE id = ?`, l.now().Unix(), n.ID)
			delivered++
		} else {
			_, err = l.db.Exec(`UPDATE notifications SET attempts = attempts + 1, last_error = ?, claimed_until = NULL WHERE id = ?`, derr.Error(), n.ID)
			failed++
		}
		if err != nil {
			return delivered, failed, err
		}
	}
	return delivered, failed, nil
}
