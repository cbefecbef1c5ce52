package server

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/license"
)

// fuzzLedgerState is a cheap fingerprint of what a device endpoint can change.
func fuzzLedgerState(t *testing.T, db rawDB) string {
	var s string
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM devices) || '/' || (SELECT COUNT(*) FROM activations) || '/' ||
		(SELECT COUNT(*) FROM devices WHERE status = 'decommissioned') || '/' || (SELECT COUNT(*) FROM customers WHERE suspended = 1)`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// fuzzDevice posts body to a device endpoint: whatever it is, the answer is
// never a 5xx, every refusal is a JSON error, and a refusal of an activation
// changes nothing.
func fuzzDevice(f *testing.F, path, contentType string, seeds func(*fixture, []byte) [][]byte) {
	fx := newFixture(f)
	lic := fx.mint("Globex", 2, license.Subscription, 0, false)
	for _, s := range seeds(fx, lic) {
		f.Add(s)
	}
	f.Add([]byte("-----BEGIN SEATKEY ACTIVATION REQUEST-----\n\n-----END SEATKEY ACTIVATION REQUEST-----\n"))
	f.Add([]byte(`{"activation":"0oQ=","fingerprint":"oA=="}`))
	db := fx.rawDB()
	f.Cleanup(func() { db.Close() })
	f.Fuzz(func(t *testing.T, body []byte) {
		before := fuzzLedgerState(t, db)
		req := httptest.NewRequest("POST", path, strings.NewReader(string(body)))
		req.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		fx.srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if w.Code >= 300 {
			var e struct{ Error *Error }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == nil || e.Error.Code == "" {
				t.Fatalf("refusal is not a JSON error: %d %s", w.Code, w.Body)
			}
			if path == "/v1/activations" && fuzzLedgerState(t, db) != before {
				t.Fatalf("refused (%s) yet the ledger changed", e.Error.Code)
			}
		}
	})
}

func FuzzActivationEndpoint(f *testing.F) {
	fuzzDevice(f, "/v1/activations", TypeText, func(fx *fixture, lic []byte) [][]byte {
		return [][]byte{request(f, lic, 1, false), request(f, lic, 2, true)}
	})
}

func FuzzCheckInEndpoint(f *testing.F) {
	fuzzDevice(f, "/v1/checkins", TypeJSON, func(fx *fixture, lic []byte) [][]byte {
		act := fx.activated(lic, 1)
		return [][]byte{proofBody(f, act, fpOf(1)), proofBody(f, act, fpOf(2))}
	})
}
