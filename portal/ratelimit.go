package portal

import (
	"log/slog"
	"time"

	"github.com/seatkey/seatkey/issuer"
)

// RateLimit bounds sign-in attempts. The counts are kept in the ledger
// (issuer.Ledger.CountAttempt): every instance serving one ledger counts
// together, and a restart does not reset them.
type RateLimit struct {
	PerIP  int           // attempts per client IP per window; default 20
	PerKey int           // attempts per product key or operator name per window; default 5
	Window time.Duration // default 15 minutes
}

// limiter counts attempts per key in fixed windows, in the ledger.
type limiter struct {
	l      *issuer.Ledger
	log    *slog.Logger
	max    int
	window time.Duration
}

func newLimiter(l *issuer.Ledger, log *slog.Logger, max int, window time.Duration) *limiter {
	return &limiter{l: l, log: log, max: max, window: window}
}

// allow counts one attempt for key at now and reports whether it is within
// the limit. If the ledger cannot count it, the attempt is refused: a
// sign-in the portal cannot limit is not let through.
func (l *limiter) allow(key string, now time.Time) bool {
	if len(key) > 128 {
		key = key[:128]
	}
	ok, err := l.l.CountAttempt(key, l.max, l.window, now)
	if err != nil {
		l.log.Error("rate limit: the ledger could not count an attempt; refused", slog.Any("error", err))
	}
	return ok
}
