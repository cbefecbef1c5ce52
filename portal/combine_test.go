package portal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestCombine(t *testing.T) {
	f := newFixture(t)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "api") })
	h := Combine(api, New(f.l, Options{Clock: f.clk.Now}))
	for path, wantAPI := range map[string]bool{
		"/": false, "/report": false, "/static/portal.css": false, "/ops/": false, "/signin/x": false,
		"/v1/activations": true, "/healthz": true, "/metrics": true, "/nope": true,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if got := rec.Body.String() == "api"; got != wantAPI {
			t.Errorf("%s: to the API %v, want %v", path, got, wantAPI)
		}
	}
}

func TestSMTPFromEnv(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if SMTPFromEnv(get) != nil {
		t.Error("no address: want no mailer")
	}
	env["SEATKEY_SMTP_ADDR"], env["SEATKEY_SMTP_FROM"], env["SEATKEY_SMTP_USER"] = "mail.example:587", "lic@example", "u"
	m, ok := SMTPFromEnv(get).(*SMTPMailer)
	if !ok || m.Addr != "mail.example:587" || m.From != "lic@example" || m.Auth == nil {
		t.Errorf("%+v", m)
	}
	if err := m.Send("a@b\r\nBcc: x@y", "s", "b"); err != ErrHeaderInjection {
		t.Errorf("header injection: %v", err)
	}
}
