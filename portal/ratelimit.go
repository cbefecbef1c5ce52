package portal

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/seatkey/seatkey/issuer"
)

// RateLimit bounds sign-in attempts. The counts are kept in the ledger
// (issuer.Ledger.CountAttempt): every instance serving one ledger counts
// together, and a restart does not reset them. Each instance also keeps a
// bounded count of its own in memory, checked first, so that a flood of
// attempts over the limit is refused without reaching the ledger.
type RateLimit struct {
	PerIP  int           // attempts per client IP (IPv6: per /64) per window; default 20
	PerKey int           // attempts per product key or operator name per window; default 5
	Window time.Duration // default 15 minutes
}

// limiter counts attempts per key in fixed windows: in this process's
// memory first, then in the ledger.
type limiter struct {
	l      *issuer.Ledger
	log    *slog.Logger
	max    int
	window time.Duration

	mu   sync.Mutex
	seen map[string]*bucket
}

type bucket struct {
	start time.Time
	n     int
}

func newLimiter(l *issuer.Ledger, log *slog.Logger, max int, window time.Duration) *limiter {
	return &limiter{l: l, log: log, max: max, window: window, seen: map[string]*bucket{}}
}

// maxTracked bounds the memory of a limiter. Past it, finished windows are
// forgotten; if that is not enough, keys not yet tracked are refused until
// windows finish (a flood of new keys cannot reset the limits).
const maxTracked = 100000

// allow counts one attempt for key at now and reports whether it is within
// the limit. An error means the ledger could not count it: the attempt is
// refused (a sign-in the portal cannot limit is not let through), and the
// caller says the service is unavailable rather than that the user tried
// too often.
func (l *limiter) allow(key string, now time.Time) (bool, error) {
	if len(key) > 128 {
		key = key[:128]
	}
	if !l.allowLocal(key, now) {
		return false, nil
	}
	ok, err := l.l.CountAttempt(key, l.max, l.window, now)
	if err != nil {
		l.log.Error("rate limit: the ledger could not count a sign-in attempt; refused", slog.Any("error", err))
	}
	return ok, err
}

// allowLocal is the in-memory count of this instance.
func (l *limiter) allowLocal(key string, now time.Time) bool {
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

// ipKey is the rate-limit key of a client address: the address itself for
// IPv4, its /64 for IPv6 (one subscriber's prefix holds 2^64 addresses).
func ipKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Is4() || ip.Is4In6() {
		return "ip:" + addr
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return "ip:" + addr
	}
	return "ip:" + p.String()
}
