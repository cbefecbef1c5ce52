package server_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/server"
)

// The server is an http.Handler: mount it, or run it with server.Serve for
// graceful shutdown as 'seatkey serve' does.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "seatkey-example-")
	defer os.RemoveAll(dir)
	ledger, _ := issuer.CreateLedger(filepath.Join(dir, "ledger.db"))
	defer ledger.Close()
	key, _ := issuer.GenerateKey() // issuer.LoadKey("acme.key", passphrase)
	srv, err := server.New(server.Config{Ledger: ledger, Key: key, Vendor: "Acme",
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
	if err != nil {
		panic(err)
	}
	token, _ := ledger.CreateAPIToken("billing", issuer.ScopeRead, 0) // seatkey token create

	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/v1/customers", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	srv.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())

	w = httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/v1/customers", nil))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 200 {"customers":[]}
	// 401 {"error":{"code":"unauthorized","message":"an API token is required: Authorization: Bearer skt_..."}}
}
