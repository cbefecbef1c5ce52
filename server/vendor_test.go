package server

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

func TestVendorAuthentication(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 5, license.Subscription, 0, false)
	lt, _ := license.Inspect(lic)
	revokeBody := []byte(`{"target":"` + lt.Claims.ID.String() + `","reason":"abuse"}`)
	revoked, _ := f.l.CreateAPIToken("old", "write", 0)
	if err := f.l.RevokeAPIToken("old"); err != nil {
		t.Fatal(err)
	}
	expiring, _ := f.l.CreateAPIToken("contractor", "write", 24*time.Hour)
	if r := f.do("GET", "/v1/customers", "", expiring, nil); r.status != 200 {
		t.Fatalf("token before expiry: %d %s", r.status, r.body)
	}
	f.clock.Advance(24 * time.Hour)
	for _, tc := range []struct {
		name, method, path, auth string
		body                     []byte
		status                   int
		code                     string
	}{
		{"no token", "GET", "/v1/customers", "", nil, 401, "unauthorized"},
		{"basic auth", "GET", "/v1/customers", "Basic dXNlcjpwYXNz", nil, 401, "unauthorized"},
		{"made-up token", "GET", "/v1/devices", "Bearer skt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil, 401, "unauthorized"},
		{"token without prefix", "GET", "/v1/devices", "Bearer " + strings.TrimPrefix(f.read, "skt_"), nil, 401, "unauthorized"},
		{"revoked token", "GET", "/v1/licenses", "Bearer " + revoked, nil, 401, "unauthorized"},
		{"expired token", "GET", "/v1/licenses", "Bearer " + expiring, nil, 401, "unauthorized"},
		{"expired write token cannot revoke", "POST", "/v1/revocations", "Bearer " + expiring, revokeBody, 401, "unauthorized"},
		{"read token cannot revoke", "POST", "/v1/revocations", "Bearer " + f.read, revokeBody, 403, "insufficient_scope"},
		{"read token cannot publish", "POST", "/v1/revocations/publish", "Bearer " + f.read, nil, 403, "insufficient_scope"},
		{"read token cannot unsuspend", "POST", "/v1/customers/Globex/unsuspend", "Bearer " + f.read, nil, 403, "insufficient_scope"},
		{"no token cannot revoke", "POST", "/v1/revocations", "", revokeBody, 401, "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.counts()
			r := f.do(tc.method, tc.path, TypeJSON, "", tc.body, "Authorization", tc.auth)
			if r.status != tc.status || r.errCode(t) != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			sameCounts(t, before, f.counts())
		})
	}
	// The write token can.
	if r := f.do("POST", "/v1/revocations", TypeJSON, f.write, revokeBody); r.status != 200 || !strings.Contains(string(r.body), `"already_revoked":false`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := f.do("POST", "/v1/revocations", TypeJSON, f.write, revokeBody); r.status != 200 || !strings.Contains(string(r.body), `"already_revoked":true`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// The ledger records which token did it.
	db := f.rawDB()
	defer db.Close()
	var actor string
	if err := db.QueryRow(`SELECT actor FROM events WHERE kind = 'revoked'`).Scan(&actor); err != nil || actor != "test:token:writer" {
		t.Fatalf("actor %q %v", actor, err)
	}
	f.activated(f.mint("Initech", 2, license.Subscription, 0, false), 1) // lic itself is revoked now
	if err := db.QueryRow(`SELECT actor FROM events WHERE kind = 'activated'`).Scan(&actor); err != nil || actor != "test:device" {
		t.Fatalf("actor %q %v", actor, err)
	}
}

func TestVendorWriteRefusals(t *testing.T) {
	f := newFixture(t)
	f.mint("Globex", 5, license.Subscription, 0, false)
	for _, tc := range []struct {
		name, path, ct string
		body           []byte
		status         int
		code           string
	}{
		{"bad target", "/v1/revocations", TypeJSON, []byte(`{"target":"globex"}`), 400, "bad_id"},
		{"bad reason", "/v1/revocations", TypeJSON, []byte(`{"target":"lic_wlpsa7f4ffdkkbaegxqugddbma","reason":"because"}`), 400, "bad_parameter"},
		{"key reason on a license", "/v1/revocations", TypeJSON, []byte(`{"target":"lic_wlpsa7f4ffdkkbaegxqugddbma","reason":"retired"}`), 400, "bad_parameter"},
		{"unknown field", "/v1/revocations", TypeJSON, []byte(`{"target":"lic_wlpsa7f4ffdkkbaegxqugddbma","force":true}`), 400, "malformed"},
		{"form body", "/v1/revocations", "application/x-www-form-urlencoded", []byte(`target=x`), 415, "unsupported_media_type"},
		{"negative validity", "/v1/revocations/publish", TypeJSON, []byte(`{"valid_for":"-1h"}`), 400, "bad_parameter"},
		{"unknown customer", "/v1/customers/Nobody/unsuspend", "", nil, 404, "unknown_customer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.counts()
			r := f.do("POST", tc.path, tc.ct, f.write, tc.body)
			if r.status != tc.status || r.errCode(t) != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			sameCounts(t, before, f.counts())
		})
	}
}

// One customer's identifiers never reveal another's data: filters select
// exactly one customer, and a refusal to one customer names nothing of another's.
func TestCustomerIsolation(t *testing.T) {
	f := newFixture(t)
	a := f.mint("Alpha Corp", 1, license.Subscription, 0, false)
	b := f.mint("Bravo Ltd", 5, license.Subscription, 0, false)
	f.activated(a, 1)
	bact := f.activated(b, 2)
	bc, _ := license.Inspect(b)
	bdev := f.do("GET", "/v1/devices?customer=Bravo+Ltd", "", f.read, nil)
	var devs struct{ Devices []DeviceInfo }
	json.Unmarshal(bdev.body, &devs)
	if len(devs.Devices) != 1 {
		t.Fatalf("%s", bdev.body)
	}
	bID := devs.Devices[0].ID.String()
	for _, path := range []string{"/v1/devices?customer=Alpha+Corp", "/v1/licenses?customer=Alpha+Corp", "/v1/customers?customer=Alpha+Corp",
		"/v1/report?format=csv&customer=Alpha+Corp", "/v1/report?format=json&customer=Alpha+Corp"} {
		r := f.do("GET", path, "", f.read, nil)
		if r.status != 200 || !strings.Contains(string(r.body), "Alpha Corp") {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		for _, secret := range []string{"Bravo", bID, bc.Claims.ID.String()} {
			if strings.Contains(string(r.body), secret) {
				t.Errorf("%s reveals %s: %s", path, secret, r.body)
			}
		}
	}
	// Alpha's machine presenting Bravo's activation is refused, and the
	// refusal names nothing of Bravo.
	r := f.checkIn(bact, fpOf(1))
	if r.status != 403 || strings.Contains(string(r.body), "Bravo") || strings.Contains(string(r.body), bID) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// Alpha at its seat limit: the refusal is about Alpha's license only.
	r = f.activate(request(t, a, 3, false))
	if r.status != 409 || strings.Contains(string(r.body), "Bravo") || strings.Contains(string(r.body), bc.Claims.ID.String()) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// A filter naming nobody is an empty list, or 404 for a report.
	if r := f.do("GET", "/v1/devices?customer=Nobody", "", f.read, nil); r.status != 200 || !strings.Contains(string(r.body), `"devices":[]`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := f.do("GET", "/v1/report?customer=Nobody", "", f.read, nil); r.status != 404 || r.errCode(t) != "not_found" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := f.do("GET", "/v1/devices?license=lic_nonsense", "", f.read, nil); r.status != 400 || r.errCode(t) != "bad_id" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestVendorReads(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex, Inc.", 2, license.Subscription, 0, true)
	f.activated(lic, 1)
	f.activated(lic, 2)
	f.activated(lic, 3) // overage
	r := f.do("GET", "/v1/report?format=csv", "", f.read, nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("%d %v", r.status, r.header)
	}
	devRows, _ := csv.NewReader(strings.NewReader(strings.SplitN(string(r.body), "\n\n", 2)[0])).ReadAll()
	if len(devRows) != 4 || devRows[1][1] != "Globex, Inc." {
		t.Fatalf("CSV: %q", devRows)
	}
	r = f.do("GET", "/v1/report", "", f.read, nil)
	var rep struct {
		Devices []json.RawMessage
		Summary []struct {
			Used, Overage_devices int
			Amount_due_cents      int64
		}
	}
	if err := json.Unmarshal(r.body, &rep); err != nil || len(rep.Devices) != 3 || rep.Summary[0].Used != 3 || rep.Summary[0].Amount_due_cents != 5000 {
		t.Fatalf("%v %s", err, r.body)
	}
	r = f.do("GET", "/v1/licenses", "", f.read, nil)
	var ls struct {
		Licenses []struct {
			Customer                string
			Seats                   int
			Overage_allowed         bool
			Migration_grace_seconds *int64
			Migrations_per_year     *int
			Lease_seconds           *int64
		}
	}
	// The fixture records licenses without migrations (grace 0), the default
	// cap and no lease: the terms are reported as recorded.
	if json.Unmarshal(r.body, &ls); len(ls.Licenses) != 1 || ls.Licenses[0].Seats != 2 || !ls.Licenses[0].Overage_allowed ||
		ls.Licenses[0].Migration_grace_seconds == nil || *ls.Licenses[0].Migration_grace_seconds != 0 ||
		ls.Licenses[0].Migrations_per_year == nil || *ls.Licenses[0].Migrations_per_year != issuer.DefaultMigrationsPerYear ||
		ls.Licenses[0].Lease_seconds == nil || *ls.Licenses[0].Lease_seconds != 0 {
		t.Fatalf("%s", r.body)
	}
	r = f.do("GET", "/v1/customers", "", f.read, nil)
	var cs struct {
		Customers []struct {
			Name     string
			Licenses int
		}
	}
	if json.Unmarshal(r.body, &cs); len(cs.Customers) != 1 || cs.Customers[0].Licenses != 1 {
		t.Fatalf("%s", r.body)
	}
	if r := f.do("GET", "/v1/report?format=xml", "", f.read, nil); r.status != 400 || r.errCode(t) != "bad_parameter" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := f.do("GET", "/v1/devices?inactive_for=soon", "", f.read, nil); r.status != 400 || r.errCode(t) != "bad_parameter" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

func TestNotFoundAndMethodAreJSON(t *testing.T) {
	f := newFixture(t)
	if r := f.do("GET", "/v2/activations", "", "", nil); r.status != 404 || r.errCode(t) != "not_found" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r := f.do("GET", "/v1/activations", "", "", nil)
	if r.status != 405 || r.errCode(t) != "method_not_allowed" || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	if r := f.do("DELETE", "/v1/customers", "", f.write, nil); r.status != 405 {
		t.Fatalf("%d", r.status)
	}
	if r := f.do("GET", "/healthz", "", "", nil); r.status != 200 || string(r.body) != `{"status":"ok"}`+"\n" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// An error the server does not recognise is a 500 that leaks nothing.
func TestInternalErrorsLeakNothing(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 5, license.Subscription, 0, false)
	req := request(t, lic, 1, false)
	f.l.Close()
	for _, r := range []*response{f.activate(req), f.do("GET", "/v1/devices", "", f.read, nil), f.do("GET", "/healthz", "", "", nil)} {
		if r.status != 500 || r.errCode(t) != "internal" || strings.Contains(strings.ToLower(string(r.body)), "sql") || strings.Contains(string(r.body), "closed") {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r.header.Get("X-Request-Id") == "" {
			t.Fatal("no request ID to find the log line by")
		}
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 1, license.Subscription, 0, false)
	f.activated(lic, 1)
	f.activate(request(t, lic, 2, false))
	f.activate(request(t, lic, 3, false))
	r := f.do("GET", "/metrics", "", "", nil)
	body := string(r.body)
	for _, want := range []string{
		`seatkey_activations_total{outcome="new-device"} 1`,
		`seatkey_activations_total{outcome="refused"} 2`,
		`seatkey_refusals_total{code="seats_exhausted"} 2`,
		`seatkey_http_request_duration_seconds_count{route="POST /v1/activations",status="2xx"} 1`,
		`seatkey_http_request_duration_seconds_count{route="POST /v1/activations",status="4xx"} 2`,
		`seatkey_ledger_batch_size_count{kind="activations"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(body)
	}
}

func TestTimeoutChangesNothing(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Timeout = 50e6 })
	lic := f.mint("Globex", 5, license.Subscription, 0, false)
	f.srv.writes <- struct{}{} // another writer holds the ledger
	before := f.counts()
	r := f.activate(request(t, lic, 1, false))
	<-f.srv.writes
	if r.status != http.StatusServiceUnavailable || r.errCode(t) != "timeout" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	sameCounts(t, before, f.counts())
	// The server works on; with a 50 ms limit on a loaded machine a retry
	// may be needed, which is what the timeout's message says is safe.
	req := request(t, lic, 1, false)
	for i := 0; ; i++ {
		r := f.activate(req)
		if r.status == 201 || r.status == 200 {
			break
		}
		if r.status != 503 || i == 50 {
			t.Fatalf("after: %d %s", r.status, r.body)
		}
	}
	if c := f.counts(); c["devices"] != 1 || c["activations"] != 1 {
		t.Fatalf("retries took %d devices, %d activations", c["devices"], c["activations"])
	}
}
