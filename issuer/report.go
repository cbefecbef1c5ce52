package issuer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/license"
)

// Filter selects devices by license and/or customer; zero values select all.
type Filter struct {
	License  license.ID
	Customer string
}

// Device is one row of the ledger's device account.
type Device struct {
	License        license.ID          `json:"license"`
	Customer       string              `json:"customer"`
	ID             activation.DeviceID `json:"id"`
	Label          string              `json:"label"`
	Status         string              `json:"status"`
	Failover       bool                `json:"failover"`
	Overage        bool                `json:"overage"`     // beyond the seats now
	PriceCents     int64               `json:"price_cents"` // billed for this device: overage bills times the price; decommissioning keeps it
	Recommissions  int                 `json:"recommissions"`
	FirstActivated time.Time           `json:"first_activated"`
	LastActivated  time.Time           `json:"last_activated"`
}

// Summary is one license's account.
type Summary struct {
	License     license.ID `json:"license"`
	Customer    string     `json:"customer"`
	Product     string     `json:"product"`
	Seats       int        `json:"seats"`
	Used        int        `json:"used"`
	Overage     int        `json:"overage_devices"` // overage bills: each time a device took a seat beyond the seats
	AmountCents int64      `json:"amount_due_cents"`
	Suspended   bool       `json:"customer_suspended"`
	// A server migration in progress, and the fraud handling of SPEC 10.4
	// rule 11: zero times when none.
	MigrationUntil time.Time `json:"migration_until,omitzero"`
	FlaggedAt      time.Time `json:"flagged_at,omitzero"`
	FlagDeadline   time.Time `json:"flag_deadline,omitzero"`
	DisabledAt     time.Time `json:"disabled_at,omitzero"`
	// NewestRelease is the newest release in the catalog the license may
	// run (SPEC 12.1), and NewestIsLegacy whether its major is legacy now;
	// empty when the product has no release recorded or none is covered.
	NewestRelease  string `json:"newest_release,omitempty"`
	NewestIsLegacy bool   `json:"newest_release_legacy,omitempty"`
}

func (f Filter) where() (string, []any) {
	w, args := " WHERE 1=1", []any{}
	if f.License != (license.ID{}) {
		w += " AND l.id = ?"
		args = append(args, f.License[:])
	}
	if f.Customer != "" {
		w += " AND c.name = ?"
		args = append(args, f.Customer)
	}
	return w, args
}

// EachDevice calls fn for every device the filter selects, streaming rows.
func (l *Ledger) EachDevice(f Filter, fn func(*Device) error) error {
	w, args := f.where()
	rows, err := l.db.Query(`SELECT l.id, c.name, d.id, d.label, d.status, d.failover, d.overage, d.billed_overage * l.overage_price_cents, d.recommissions, d.first_activated, d.last_activated
		FROM devices d JOIN licenses l ON l.id = d.license_id JOIN customers c ON c.id = l.customer_id`+w+` ORDER BY l.id, d.first_activated, d.id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var d Device
	var lic, dev []byte
	var first, last int64
	for rows.Next() {
		if err := rows.Scan(&lic, &d.Customer, &dev, &d.Label, &d.Status, &d.Failover, &d.Overage, &d.PriceCents, &d.Recommissions, &first, &last); err != nil {
			return err
		}
		copy(d.License[:], lic)
		copy(d.ID[:], dev)
		d.FirstActivated, d.LastActivated = time.Unix(first, 0).UTC(), time.Unix(last, 0).UTC()
		if err := fn(&d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Summaries returns the per-license account for the filter.
func (l *Ledger) Summaries(f Filter) ([]Summary, error) {
	w, args := f.where()
	rows, err := l.db.Query(`SELECT l.id, c.name, l.product, l.seats, c.suspended, `+seatsSQL+`, `+billedSQL+`, `+billedSQL+` * l.overage_price_cents,
		COALESCE(MAX(CASE WHEN d.status <> 'decommissioned' THEN d.migration_until END), 0), COALESCE(l.flagged_at, 0), COALESCE(l.flag_deadline, 0), COALESCE(l.disabled_at, 0)
		FROM licenses l JOIN customers c ON c.id = l.customer_id LEFT JOIN devices d ON d.license_id = l.id`+w+` GROUP BY l.id, c.id ORDER BY l.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var s Summary
		var lic []byte
		var mig, flagged, deadline, disabled int64
		if err := rows.Scan(&lic, &s.Customer, &s.Product, &s.Seats, &s.Suspended, &s.Used, &s.Overage, &s.AmountCents, &mig, &flagged, &deadline, &disabled); err != nil {
			return nil, err
		}
		s.MigrationUntil, s.FlaggedAt, s.FlagDeadline, s.DisabledAt = unixOrZero(mig), unixOrZero(flagged), unixOrZero(deadline), unixOrZero(disabled)
		copy(s.License[:], lic)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	return out, l.newestReleases(out)
}

// newestReleases fills each summary's newest covered release from the
// catalog, reading each product's releases once.
func (l *Ledger) newestReleases(sums []Summary) error {
	catalog := map[string][]Release{}
	for i := range sums {
		s := &sums[i]
		rs, seen := catalog[s.Product]
		if !seen {
			var err error
			if rs, err = l.Releases(s.Product); err != nil {
				return err
			}
			catalog[s.Product] = rs
		}
		if len(rs) == 0 {
			continue
		}
		tok, err := l.LicenseToken(s.License)
		if err != nil {
			return err
		}
		t, err := license.Inspect(tok)
		if err != nil {
			return err
		}
		var newest *Release
		for j := range rs {
			if Entitled(&t.Claims, &rs[j]) && (newest == nil || rs[j].Version.Compare(newest.Version) > 0) {
				newest = &rs[j]
			}
		}
		if newest != nil {
			s.NewestRelease, s.NewestIsLegacy = newest.Version.String(), newest.Legacy
		}
	}
	return nil
}

// DeviceHeader is the CSV header of the device rows.
var DeviceHeader = []string{"license", "customer", "device", "label", "status", "failover", "first_activated", "last_activated", "overage", "price"}

// appendCSVField quotes a field as RFC 4180 requires: when it holds a comma,
// a quote, a line break or leading space. A field a spreadsheet would run as
// a formula (starting with =, +, -, @, tab or CR: customer text such as
// =HYPERLINK(...)) is first prefixed with a single quote, which spreadsheets
// show as text.
func appendCSVField(dst []byte, s string) []byte {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		s = "'" + s
	}
	if s == "" || (!strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ') {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// WriteJSON writes {"devices": [...], "summary": [...]}, streaming the devices.
func (l *Ledger) WriteJSON(w io.Writer, f Filter) error {
	if _, err := io.WriteString(w, `{"devices":[`); err != nil {
		return err
	}
	first := true
	enc := json.NewEncoder(w)
	err := l.EachDevice(f, func(d *Device) error {
		if !first {
			io.WriteString(w, ",")
		}
		first = false
		return enc.Encode(d)
	})
	if err != nil {
		return err
	}
	sums, err := l.Summaries(f)
	if err != nil {
		return err
	}
	if sums == nil {
		sums = []Summary{}
	}
	b, _ := json.Marshal(sums)
	_, err = fmt.Fprintf(w, `],"summary":%s}`+"\n", b)
	return err
}

// Notification is a message recorded for a customer's contact.
type Notification struct {
	ID        int64
	At        time.Time
	Kind      string
	Recipient string
	Subject   string
	Body      string
	Delivered bool
	Attempts  int
	LastError string
}

// Notifications lists recorded notifications, oldest first; pending only if asked.
func (l *Ledger) Notifications(pendingOnly bool) ([]Notification, error) {
	q := `SELECT id, at, kind, recipient, subject, body, delivered_at IS NOT NULL, attempts, last_error FROM notifications`
	if pendingOnly {
		q += ` WHERE delivered_at IS NULL`
	}
	rows, err := l.db.Query(q + ` ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Notification
	for rows.Next() {
		var n Notification
		var at int64
		if err := rows.Scan(&n.ID, &at, &n.Kind, &n.Recipient, &n.Subject, &n.Body, &n.Delivered, &n.Attempts, &n.LastError); err != nil {
			return nil, err
		}
		n.At = time.Unix(at, 0).UTC()
		out = append(out, n)
	}
	return out, rows.Err()
}

func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
