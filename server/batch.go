package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/seatkey/seatkey/issuer"
)

// MaxBatch bounds how many activations share one ledger transaction.
const MaxBatch = 128

// batcher is group commit for activations: requests that arrive while a
// batch is being written queue up and go together in the next one
// (issuer.Ledger.ActivateBatch), so the disk syncs once per batch instead of
// once per activation. The ledger's rules still apply one request at a time,
// in arrival order. There is no background goroutine: the request that finds
// no batch running leads the next one, and a leader hands over to a fresh
// goroutine if more requests queued meanwhile.
type batcher struct {
	mu      sync.Mutex
	queue   []*pending
	leading bool
}

type pending struct {
	ctx  context.Context
	body []byte
	res  *issuer.Result
	err  error
	done chan struct{}
}

// activateBatched activates one request through the batcher.
func (s *Server) activateBatched(ctx context.Context, body []byte) (*issuer.Result, error) {
	p := &pending{ctx: ctx, body: body, done: make(chan struct{})}
	b := &s.batch
	b.mu.Lock()
	b.queue = append(b.queue, p)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if lead {
		s.leadBatch()
	}
	<-p.done
	return p.res, p.err
}

// leadBatch writes one batch of what is queued, then hands over.
func (s *Server) leadBatch() {
	b := &s.batch
	b.mu.Lock()
	n := min(len(b.queue), MaxBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	s.writes <- struct{}{}
	var live []*pending
	var bodies [][]byte
	for _, p := range batch {
		if p.ctx.Err() != nil { // its client is gone or timed out: never run it
			p.err = apiError(http.StatusServiceUnavailable, "timeout", "the server is busy; retrying is safe")
			close(p.done)
			continue
		}
		live, bodies = append(live, p), append(bodies, p.body)
	}
	if len(live) > 0 {
		s.metrics.batchSize.Observe(float64(len(live)))
		s.ledger.Actor = s.actor + ":device"
		results, errs := s.activateBatch(bodies)
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
	go s.leadBatch()
}

// activateBatch is the ledger call, with a panic turned into an error for
// every request of the batch, so that one bad request cannot leave the others
// waiting for ever or stop the batcher.
func (s *Server) activateBatch(bodies [][]byte) (results []*issuer.Result, errs []error) {
	defer func() {
		if v := recover(); v != nil {
			results, errs = make([]*issuer.Result, len(bodies)), make([]error, len(bodies))
			for i := range errs {
				errs[i] = fmt.Errorf("activation batch panicked: %v", v)
			}
		}
	}()
	return s.ledger.ActivateBatch(s.cfg.Key, bodies)
}
