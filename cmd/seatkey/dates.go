package main

import (
	"strconv"
	"strings"
	"time"
)

// parseTime accepts YYYY-MM-DD or RFC 3339. With endOfDay a bare date means
// the end of that day (UTC), as in "valid through 2027-12-31": the instant
// stored is the next midnight.
func parseTime(flag, s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("--%s: %q is neither YYYY-MM-DD nor an RFC 3339 time", flag, s)
	}
	return t, nil
}

// through shows the end of a validity period as the contract says it: an
// instant at midnight UTC is "through" the day before (what --expires
// 2027-12-31 stored); any other instant is "until" that time.
func through(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return "through " + t.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	return "until " + t.Format(time.RFC3339)
}

// parseValidity reads a duration as days ("90d") or as Go writes it ("36h").
func parseValidity(flag, s string) (time.Duration, error) {
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 || d > 10*365*24*time.Hour {
		return 0, usagef("--%s: %q is not a duration like 90d or 36h (at most ten years)", flag, s)
	}
	return d, nil
}
