package portal

import (
	"sync"
	"time"
)

// RateLimit bounds sign-in attempts. Counts live in this process's memory:
// a restart forgets them, and several instances count separately.
type RateLimit struct {
	PerIP  int           // attempts per client IP per window; default 20
	PerKey int           // attempts per product key or operator name per window; default 5
	Window time.Duration // default 15 minutes
}

// limiter counts attempts per key in fixed windows.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	seen   map[string]*bucket
}

type bucket struct {
	start time.Time
	n     int
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, seen: map[string]*bucket{}}
}

// maxTracked bounds the memory of a limiter. Past it, finished windows are
// forgotten; if that is not enough, keys not yet tracked are refused until
// windows finish (a flood of new keys cannot reset the limits).
const maxTracked = 100000

// allow counts one attempt for key at now and reports whether it is within the limit.
func (l *limiter) allow(key string, now time.Time) bool {
	if len(key) > 128 {
		key = key[:128]
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.seen[key]
	if b == nil && len(l.seen) >= maxTracked {
		for k, b := range l.seen {
			if now.Sub(b.start) >= l.window {
				delete(l.seen, k)
			}
		}
		if len(l.seen) >= maxTracked {
			return false
		}
	}
	if b == nil || now.Sub(b.start) >= l.window || now.Before(b.start) {
		b = &bucket{start: now}
		l.seen[key] = b
	}
	b.n++
	return b.n <= l.max
}
