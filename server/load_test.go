package server

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/internal/pgtest"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// BenchmarkLoad is the loopback load test (README): b.N activations of
// distinct machines from 50 concurrent clients against real servers on
// 127.0.0.1, spread over 10 licenses whose seats run out for the last tenth
// of each, so seat contention is part of the load. It fails on any 5xx or
// any license with more devices than seats, and reports activations/s,
// p50/p99 latency and the ratio to bare single-row INSERT transactions into
// the same database, measured in the same run.
//
//   - sqlite: one server on an SQLite ledger file;
//
//   - postgres-2: two server instances, each with its own connection pool,
//     on one PostgreSQL database (a throwaway server with fsync on), the
//     clients alternating between them.
//
//     go test ./server -run '^$' -bench Load -benchtime 2000x
func BenchmarkLoad(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		f := newFixtureAt(b, filepath.Join(b.TempDir(), "ledger.db"))
		loadTest(b, f, f.srv)
	})
	b.Run("postgres-2", func(b *testing.B) {
		f := newFixtureAt(b, pgtest.NeedDurable(b).NewDatabase(b))
		l2, err := issuer.OpenLedger(f.dbPath)
		if err != nil {
			b.Fatal(err)
		}
		defer l2.Close()
		l2.Now = time.Now
		second, err := New(Config{Ledger: l2, Key: f.key, Vendor: "Acme"})
		if err != nil {
			b.Fatal(err)
		}
		loadTest(b, f, f.srv, second)
	})
}

func loadTest(b *testing.B, f *fixture, servers ...*Server) {
	const clients, licenses = 50, 10
	f.l.Now = time.Now
	perLicense := (b.N + licenses - 1) / licenses
	seats := max(1, perLicense*9/10)
	lics := make([][]byte, licenses)
	for i := range lics {
		lics[i] = f.mint(fmt.Sprintf("Customer %02d", i), seats, license.Subscription, 0, false)
	}
	reqs := make([][]byte, b.N)
	for i := range reqs {
		r, err := activation.NewRequest(lics[i%licenses], fpOf(1000+i), fmt.Sprintf("host-%d", i), false)
		if err != nil {
			b.Fatal(err)
		}
		if reqs[i], err = r.MarshalBinary(); err != nil {
			b.Fatal(err)
		}
	}
	var urls []string
	for _, srv := range servers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- Serve(ctx, ln, srv, "", "", 0, nil) }()
		defer func() { stop(); <-served }()
		urls = append(urls, "http://"+ln.Addr().String()+"/v1/activations")
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	defer hc.CloseIdleConnections()

	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var mu sync.Mutex
	statuses := map[int]int{}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[int]int{}
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					break
				}
				t := time.Now()
				req, _ := http.NewRequest("POST", urls[i%len(urls)], bytes.NewReader(reqs[i]))
				req.Header.Set("Content-Type", TypeActivationRequest)
				req.Header.Set("Accept", license.TypeActivation)
				resp, err := hc.Do(req)
				if err != nil {
					local[-1]++
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t)
				local[resp.StatusCode]++
			}
			mu.Lock()
			for k, v := range local {
				statuses[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()

	fivexx, granted := 0, statuses[201]
	for code, n := range statuses {
		if code >= 500 || code < 0 {
			fivexx += n
		}
	}
	oversold := 0
	sums, err := f.l.Summaries(issuer.Filter{})
	if err != nil {
		b.Fatal(err)
	}
	used := 0
	for _, s := range sums {
		used += s.Used
		if s.Used > s.Seats {
			oversold += s.Used - s.Seats
		}
	}
	if fivexx != 0 || oversold != 0 || used != granted || statuses[201]+statuses[409] != b.N {
		b.Fatalf("statuses %v, %d seats used for %d granted, %d oversold", statuses, used, granted, oversold)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	rate := float64(b.N) / elapsed.Seconds()
	inserts := bareInserts(b, f.dbPath, min(b.N, 2000))
	direct := directActivations(b, f, min(b.N, 500))
	b.ReportMetric(rate, "activations/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(fivexx), "5xx")
	b.ReportMetric(float64(oversold), "oversold")
	b.ReportMetric(inserts, "bare-inserts/s")
	b.ReportMetric(rate/inserts, "ratio-to-insert")
	b.ReportMetric(direct, "direct-activate/s")
	b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/activation")
	if b.N >= 100 {
		b.Logf("%d server(s): %d activations (%d granted, %d seats_exhausted) by %d clients in %v: %.0f/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms; bare INSERT %.0f/s; ratio %.2f; one-by-one Ledger.Activate without HTTP %.0f/s; process CPU %.2f ms per activation (server and clients), %.0f%% of one core",
			len(servers), b.N, granted, statuses[409], clients, elapsed.Round(time.Millisecond), rate, pct(0.5), pct(0.99), pct(1), inserts, rate/inserts, direct,
			float64(cpu)/1e6/float64(b.N), 100*cpu.Seconds()/elapsed.Seconds())
	}
}

// directActivations measures Ledger.Activate called one request at a time,
// in process, on a fresh license in the same ledger: one transaction per
// activation, what the server's batching improves on.
func directActivations(b *testing.B, f *fixture, n int) float64 {
	lic := f.mint("Direct", n, license.Subscription, 0, false)
	reqs := make([][]byte, n)
	for i := range reqs {
		reqs[i] = request(b, lic, 1_000_000+i, false)
	}
	start := time.Now()
	for _, r := range reqs {
		if _, err := f.l.Activate(f.key, r); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// bareInserts measures single-row INSERT transactions per second, one
// after another, into a scratch table of the ledger's own database: on
// SQLite with the ledger's settings (WAL, synchronous FULL, BEGIN
// IMMEDIATE), on PostgreSQL a plain transaction. The floor any activation
// pays.
func bareInserts(b *testing.B, path string, n int) float64 {
	driver, dsn := "sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
	create, insert := `CREATE TABLE IF NOT EXISTS bench_bare_insert (id INTEGER PRIMARY KEY, v BLOB NOT NULL)`, `INSERT INTO bench_bare_insert (v) VALUES (?)`
	if issuer.IsPostgres(path) {
		driver, dsn = "pgx", path
		create, insert = `CREATE TABLE IF NOT EXISTS bench_bare_insert (id BIGSERIAL PRIMARY KEY, v BYTEA NOT NULL)`, `INSERT INTO bench_bare_insert (v) VALUES ($1)`
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(create); err != nil {
		b.Fatal(err)
	}
	v := bytes.Repeat([]byte{1}, 64)
	start := time.Now()
	for i := 0; i < n; i++ {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(insert, v); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}
