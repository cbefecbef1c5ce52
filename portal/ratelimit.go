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

// allow counts one attempt for key at now and reports whether it is within the limit.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) > 100000 { // bound memory: forget finished windows
		for k, b := range l.seen {
			if now.Sub(b.start) >= l.window {
				delete(l.seen, k)
			}
		}
	}
	b := l.seen[key]
	if b == nil || now.Sub(b.start) >= l.window || now.Before(b.start) {
		b = &bucket{start: now}
		l.seen[key] = b
	}
	b.n++
	return b.n <= l.max
}
