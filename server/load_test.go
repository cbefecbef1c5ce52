package server

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// BenchmarkLoad is the loopback load test (README): b.N activations of
// distinct machines from 50 concurrent clients against a real server on
// 127.0.0.1 over a real SQLite ledger, spread over 10 licenses whose seats
// run out for the last tenth of each, so seat contention is part of the load.
// It fails on any 5xx or any license with more devices than seats, and
// reports activations/s, p50/p99 latency and the ratio to bare single-row
// INSERT transactions into the same database file, measured in the same run.
//
//	go test ./server -run '^$' -bench Load -benchtime 2000x
func BenchmarkLoad(b *testing.B) {
	const clients, licenses = 50, 10
	f := newFixture(b)
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, f.srv, "", "", 0, nil) }()
	defer func() { stop(); <-served }()
	url := "http://" + ln.Addr().String() + "/v1/activations"
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}

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
				req, _ := http.NewRequest("POST", url, bytes.NewReader(reqs[i]))
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
		b.Logf("%d activations (%d granted, %d seats_exhausted) by %d clients in %v: %.0f/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms; bare INSERT %.0f/s; ratio %.2f; one-by-one Ledger.Activate without HTTP %.0f/s; process CPU %.2f ms per activation (server and clients), %.0f%% of one core",
			b.N, granted, statuses[409], clients, elapsed.Round(time.Millisecond), rate, pct(0.5), pct(0.99), pct(1), inserts, rate/inserts, direct,
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

// bareInserts measures single-row INSERT transactions per second into a
// scratch table of the ledger's own database file, with the ledger's settings
// (WAL, synchronous FULL, BEGIN IMMEDIATE): the floor any activation pays.
func bareInserts(b *testing.B, path string, n int) float64 {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS bench_bare_insert (id INTEGER PRIMARY KEY, v BLOB NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	v := bytes.Repeat([]byte{1}, 64)
	start := time.Now()
	for i := 0; i < n; i++ {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO bench_bare_insert (v) VALUES (?)`, v); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}
