package portal_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/portal"
)

// The portal is an http.Handler over the ledger; Combine puts it beside the
// licensing server's API on one listener.
func Example() {
	dir, _ := os.MkdirTemp("", "portal-example")
	defer os.RemoveAll(dir)
	l, err := issuer.CreateLedger(filepath.Join(dir, "ledger.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()

	api := http.NotFoundHandler() // seatkey serve passes its server.Server here
	h := portal.Combine(api, portal.New(l, portal.Options{
		BaseURL:       "https://licenses.example.com",
		Mailer:        portal.SMTPFromEnv(os.Getenv), // nil without SEATKEY_SMTP_ADDR
		SecureCookies: true,
	}))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(rec.Header().Get("Content-Security-Policy"))
	// Output:
	// 200 text/html; charset=utf-8
	// default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
}
