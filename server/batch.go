package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// MaxBatch bounds how many requests share one ledger transaction.
const MaxBatch = 128

// batcher is group commit for one kind of device request: requests that
// arrive while a batch is being written queue up and go together in the
// next one (issuer.Ledger.ActivateBatch, CheckInBatch), so the disk syncs
// once per batch instead of once per request. The ledger's rules still apply
// one request at a time, in arrival order. There is no background goroutine:
// the request that finds no batch running leads the next one, and a leader
// hands over to a fresh goroutine if more requests queued meanwhile.
type batcher[Req, Res any] struct {
	kind string
	// run writes one batch; it is called as the process's only ledger writer.
	run func([]Req) ([]Res, []error)

	mu      sync.Mutex
	queue   []*pending[Req, Res]
	leading bool
}

type pending[Req, Res any] struct {
	ctx  context.Context
	req  Req
	res  Res
	err  error
	done chan struct{}
}

// do runs one request through the batcher.
func (b *batcher[Req, Res]) do(s *Server, ctx context.Context, req Req) (Res, error) {
	p := &pending[Req, Res]{ctx: ctx, req: req, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if lead {
		b.lead(s)
	}
	<-p.done
	return p.res, p.err
}

// lead writes one batch of what is queued, then hands over.
func (b *batcher[Req, Res]) lead(s *Server) {
	b.mu.Lock()
	n := min(len(b.queue), MaxBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	s.writes <- struct{}{}
	var live []*pending[Req, Res]
	var reqs []Req
	for _, p := range batch {
		if p.ctx.Err() != nil { // its client is gone or timed out: never run it
			p.err = apiError(http.StatusServiceUnavailable, "timeout", "the server is busy; retrying is safe")
			close(p.done)
			continue
		}
		live, reqs = append(live, p), append(reqs, p.req)
	}
	if len(live) > 0 {
		s.metrics.batchSize.WithLabelValues(b.kind).Observe(float64(len(live)))
		s.ledger.Actor = s.actor + ":device"
		results, errs := b.safeRun(reqs)
		s.ledger.Actor = s.actor
		for i, p := range live {
			p.res, p.err = results[i], errs[i]
			close(p.done)
		}
	}
	<-s.writes
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.leading = false
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	go b.lead(s)
}

// safeRun is run with a panic turned into an error for every request of the
// batch, so that one bad request cannot leave the others waiting for ever or
// stop the batcher.
func (b *batcher[Req, Res]) safeRun(reqs []Req) (results []Res, errs []error) {
	defer func() {
		if v := recover(); v != nil {
			results, errs = make([]Res, len(reqs)), make([]error, len(reqs))
			for i := range errs {
				errs[i] = fmt.Errorf("%s batch panicked: %v", b.kind, v)
			}
		}
	}()
	return b.run(reqs)
}
