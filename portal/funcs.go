package portal

import (
	"fmt"
	"html/template"
	"time"

	"github.com/seatkey/seatkey/license"
)

var funcs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format(time.DateOnly)
	},
	"datetime": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"through": through,
	"money": func(cents int64) string {
		return fmt.Sprintf("%d.%02d USD", cents/100, cents%100)
	},
	"kind":   func(k license.Kind) string { return k.String() },
	"plural": plural,
	"pct": func(used, seats int) int {
		if seats <= 0 {
			return 0
		}
		return used * 100 / seats
	},
	"over": func(used, seats int) bool { return used > seats },
}

func init() {
	funcs["free"] = func(used, seats int) int { return max(seats-used, 0) }
}
