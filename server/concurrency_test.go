package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// Concurrent activations from many machines never take more seats than the
// license has: exactly seats succeed, the rest get seats_exhausted.
func TestConcurrentActivationsNeverOversell(t *testing.T) {
	f := newFixture(t)
	const seats, machines = 5, 40
	lic := f.mint("Globex", seats, license.Subscription, 0, false)
	reqs := make([][]byte, machines)
	for i := range reqs {
		reqs[i] = request(t, lic, 100+i, false)
	}
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := f.ts.Client().Post(f.ts.URL+"/v1/activations", TypeText, bytesReader(req))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[201] != seats || codes[409] != machines-seats {
		t.Fatalf("statuses %v, want %d created and %d conflicts", codes, seats, machines-seats)
	}
	if c := f.counts(); c["devices"] != seats || c["activations"] != seats {
		t.Fatalf("ledger: %v", c)
	}
}

// Activations, returns and check-ins racing on one license: at no point does
// the ledger hold more active devices than seats, and every answer is a
// success or a refusal, never a 5xx.
func TestConcurrentMixedTraffic(t *testing.T) {
	f := newFixture(t)
	const seats = 3
	lic := f.mint("Globex", seats, license.Subscription, 0, false)
	acts := make([][]byte, seats)
	for i := range acts {
		acts[i] = f.activated(lic, i)
	}
	var wg sync.WaitGroup
	var fails sync.Map
	post := func(path, ct string, body []byte) {
		resp, err := f.ts.Client().Post(f.ts.URL+path, ct, bytesReader(body))
		if err != nil {
			fails.Store(err.Error(), true)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			fails.Store(path+" "+resp.Status, true)
		}
	}
	for i := 0; i < seats; i++ {
		proof := proofBody(t, acts[i], fpOf(i))
		var reqs [][]byte
		for j := 0; j < 4; j++ {
			reqs = append(reqs, request(t, lic, 50+4*i+j, false))
		}
		wg.Add(3)
		go func() { defer wg.Done(); post("/v1/returns", TypeJSON, proof) }()
		go func() { defer wg.Done(); post("/v1/checkins", TypeJSON, proof) }()
		go func() {
			defer wg.Done()
			for _, req := range reqs {
				post("/v1/activations", TypeText, req)
			}
		}()
	}
	wg.Wait()
	fails.Range(func(k, _ any) bool { t.Error(k); return true })
	sums, _ := f.l.Summaries(issuer.Filter{})
	if sums[0].Used > seats {
		t.Fatalf("%d devices on %d seats", sums[0].Used, seats)
	}
	if c := f.counts(); c["devices"]-c["decommissioned"] != sums[0].Used {
		t.Fatalf("ledger %v, summary %+v", c, sums[0])
	}
}

// Concurrent check-ins (written in shared transactions) are each recorded
// once, on their own device.
func TestConcurrentCheckIns(t *testing.T) {
	f := newFixture(t)
	const devices, rounds = 20, 3
	lic := f.mint("Globex", devices, license.Subscription, 0, false)
	proofs := make([][]byte, devices)
	for i := range proofs {
		proofs[i] = proofBody(t, f.activated(lic, i), fpOf(i))
	}
	var wg sync.WaitGroup
	var bad atomic.Int32
	for round := 0; round < rounds; round++ {
		for _, p := range proofs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := f.ts.Client().Post(f.ts.URL+"/v1/checkins", TypeJSON, bytesReader(p))
				if err != nil || resp.StatusCode != 200 {
					bad.Add(1)
				}
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d check-ins failed", bad.Load())
	}
	r := f.do("GET", "/v1/devices", "", f.read, nil)
	var devs struct{ Devices []DeviceInfo }
	json.Unmarshal(r.body, &devs)
	for _, d := range devs.Devices {
		if d.CheckIns != rounds || d.SuspectedDuplicate {
			t.Errorf("%s: %d check-ins, flagged %v", d.Label, d.CheckIns, d.SuspectedDuplicate)
		}
	}
	if len(devs.Devices) != devices {
		t.Fatalf("%d devices", len(devs.Devices))
	}
}

// Shutdown lets a request in flight finish and refuses new connections.
func TestGracefulShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, "", "", 5*time.Second, nil) }()
	url := "http://" + ln.Addr().String() + "/"
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	time.Sleep(100 * time.Millisecond) // shutdown has begun: the listener is closed
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("new connection accepted during shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("Serve returned before the request finished: %v", err)
	default:
	}
	close(release)
	if s := <-got; s != "finished" {
		t.Fatalf("in-flight request: %q", s)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
