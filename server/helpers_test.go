package server

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/pgtest"
	"github.com/seatkey/seatkey/internal/testhw"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

const product = "ledgerpro"

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time source shared by ledger and test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	t      testing.TB
	l      *issuer.Ledger
	key    *issuer.Key
	srv    *Server
	ts     *httptest.Server
	dbPath string
	clock  *clock
	read   string // API token secrets
	write  string
}

// onPostgres: this run of the test binary (TestSuiteOnPostgres) makes every
// fixture's ledger in a new PostgreSQL database instead of an SQLite file.
var onPostgres = pgtest.OnPostgres()

func newFixture(t testing.TB, mod ...func(*Config)) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	if onPostgres {
		path = pgtest.Need(t).NewDatabase(t)
	}
	return newFixtureAt(t, path, mod...)
}

// newFixtureAt is newFixture on the ledger at path (a file or a postgres:// URL).
func newFixtureAt(t testing.TB, path string, mod ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: &clock{t: t0}}
	f.dbPath = path
	l, err := issuer.CreateLedger(f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	l.Now, l.Actor = f.clock.Now, "test"
	f.l = l
	if f.key, err = issuer.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Ledger: l, Key: f.key, Vendor: "Acme"}
	for _, m := range mod {
		m(&cfg)
	}
	if f.srv, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	f.ts = httptest.NewServer(f.srv)
	if f.read, err = l.CreateAPIToken("reader", issuer.ScopeRead, 0); err != nil {
		t.Fatal(err)
	}
	if f.write, err = l.CreateAPIToken("writer", issuer.ScopeWrite, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.ts.Close(); l.Close() })
	return f
}

// mint records a license for customer in the ledger and returns its token.
func (f *fixture) mint(customer string, seats int, kind license.Kind, failover int, overage bool) []byte {
	f.t.Helper()
	c := license.Claims{Vendor: "Acme", Customer: customer, Product: product, Edition: "pro", Seats: seats, Failover: failover,
		Kind: kind, IssuedAt: t0.Add(-24 * time.Hour)}
	switch kind {
	case license.Subscription:
		c.Expires = t0.AddDate(1, 0, 0)
	case license.Perpetual:
		c.UpgradesUntil = t0.AddDate(1, 0, 0)
	}
	tok, err := f.key.Mint(c)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.l.RecordLicense(f.key, tok, issuer.LicensePolicy{OverageAllowed: overage, OveragePriceCents: 5000, MigrationGrace: -1}); err != nil {
		f.t.Fatal(err)
	}
	return tok
}

func fpOf(n int) *fingerprint.Fingerprint { return machine(n).Digest(product) }

func fpBytes(t testing.TB, fp *fingerprint.Fingerprint) []byte {
	b, err := fp.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// request returns an armored activation request for machine n.
func request(t testing.TB, lic []byte, n int, failover bool) []byte {
	t.Helper()
	r, err := activation.NewRequest(lic, fpOf(n), fmt.Sprintf("host-%d", n), failover)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Armor()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// errCode returns the JSON error code of the response ("" if none).
func (r *response) errCode(t testing.TB) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error response has Content-Type %q: %s", ct, r.body)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, r.body)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error without code or message: %s", r.body)
	}
	return e.Error.Code
}

func (f *fixture) do(method, path, contentType, token string, body []byte, hdr ...string) *response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return &response{resp.StatusCode, resp.Header, b}
}

func (f *fixture) activate(req []byte) *response {
	return f.do("POST", "/v1/activations", TypeText, "", req)
}

// activated activates machine n on lic and returns the binary activation token.
func (f *fixture) activated(lic []byte, n int) []byte {
	f.t.Helper()
	r := f.activate(request(f.t, lic, n, false))
	if r.status != http.StatusCreated {
		f.t.Fatalf("activate machine %d: %d %s", n, r.status, r.body)
	}
	tok, err := license.Decode(license.TypeActivation, r.body)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

func proofBody(t testing.TB, act []byte, fp *fingerprint.Fingerprint) []byte {
	b, _ := json.Marshal(DeviceProof{Activation: act, Fingerprint: fpBytes(t, fp)})
	return b
}

func (f *fixture) checkIn(act []byte, fp *fingerprint.Fingerprint) *response {
	return f.do("POST", "/v1/checkins", TypeJSON, "", proofBody(f.t, act, fp))
}

// counts returns the row count of every ledger table, read through a
// connection of its own.
func (f *fixture) counts() map[string]int {
	f.t.Helper()
	db := f.rawDB()
	defer db.Close()
	out := map[string]int{}
	for _, tbl := range []string{"customers", "licenses", "devices", "activations", "device_digests", "revocations", "revocation_lists",
		"published_revocation_lists", "api_tokens", "device_checkins", "events", "notifications"} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + tbl).Scan(&n); err != nil {
			f.t.Fatal(err)
		}
		out[tbl] = n
	}
	var n int
	db.QueryRow(`SELECT COUNT(*) FROM devices WHERE status = 'decommissioned'`).Scan(&n)
	out["decommissioned"] = n
	db.QueryRow(`SELECT COUNT(*) FROM customers WHERE suspended = 1`).Scan(&n)
	out["suspended"] = n
	db.QueryRow(`SELECT COUNT(*) FROM device_checkins WHERE suspected_duplicate = 1`).Scan(&n)
	out["flagged"] = n
	return out
}

func sameCounts(t testing.TB, before, after map[string]int) {
	t.Helper()
	for k, v := range before {
		if after[k] != v {
			t.Errorf("ledger changed: %s %d -> %d", k, v, after[k])
		}
	}
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// machine is a distinct synthetic machine n with full identity.
func machine(n int) *fingerprint.Profile { return testhw.Machine(n) }

// rawDB reads the fixture's database through a connection of its own,
// behind the ledger's back: read-only on SQLite.
func (f *fixture) rawDB() rawDB {
	f.t.Helper()
	driver, dsn := "sqlite", "file:"+f.dbPath+"?mode=ro&_pragma=busy_timeout(10000)"
	if issuer.IsPostgres(f.dbPath) {
		driver, dsn = "pgx", f.dbPath
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		f.t.Fatal(err)
	}
	return rawDB{db, driver == "pgx"}
}

// rawDB is a test's own connection to a fixture's database; its queries
// use ? placeholders on either store.
type rawDB struct {
	*sql.DB
	pg bool
}

func (r rawDB) QueryRow(q string, args ...any) *sql.Row {
	if r.pg {
		for n := 1; strings.Contains(q, "?"); n++ {
			q = strings.Replace(q, "?", "$"+strconv.Itoa(n), 1)
		}
	}
	return r.DB.QueryRow(q, args...)
}
