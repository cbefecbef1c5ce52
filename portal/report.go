package portal

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// sortKeys are the device table's sortable columns.
var sortKeys = map[string]func(a, b *deviceView) int{
	"label":   func(a, b *deviceView) int { return cmp.Compare(strings.ToLower(a.Label), strings.ToLower(b.Label)) },
	"device":  func(a, b *deviceView) int { return cmp.Compare(a.IDText, b.IDText) },
	"license": func(a, b *deviceView) int { return cmp.Compare(a.LicenseText, b.LicenseText) },
	"status":  func(a, b *deviceView) int { return cmp.Compare(a.Status, b.Status) },
	"first":   func(a, b *deviceView) int { return a.FirstActivated.Compare(b.FirstActivated) },
	"last":    func(a, b *deviceView) int { return a.LastActivated.Compare(b.LastActivated) },
	"checkin": func(a, b *deviceView) int { return a.LastCheckIn.Compare(b.LastCheckIn) },
	"overage": func(a, b *deviceView) int { return cmp.Compare(boolInt(a.Overage), boolInt(b.Overage)) },
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// reportView is the License Report page.
type reportView struct {
	*account
	Devices        []*deviceView
	Total          int
	Query          reportQuery
	Columns        []column
	Selected       []*deviceView // the Decommission List
	Refused        []refusedDevice
	Unknown        int // selected IDs that are not the customer's
	SelectQS       string
	Statuses       []string
	UnknownLicense bool
}

type refusedDevice struct {
	*deviceView
	Why string
}

type reportQuery struct {
	License, Status, Q, Sort, Order string
}

type column struct {
	Key, Label, Href, Sort string // Sort: "ascending", "descending" or ""
}

func (q reportQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"license": q.License, "status": q.Status, "q": q.Q, "sort": q.Sort, "order": q.Order} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// report is the License Report: per license its account, then the device
// table (filtered and sorted by query parameters) with the checkboxes of
// Reallocate Licenses, and the Decommission List below when devices are selected.
func (p *portal) report(w http.ResponseWriter, r *http.Request, s *session) {
	a, err := p.load(s.Subject)
	if err != nil {
		p.internal(w, r, err)
		return
	}
	q := r.URL.Query()
	rq := reportQuery{License: q.Get("license"), Status: q.Get("status"), Q: strings.TrimSpace(q.Get("q")), Sort: q.Get("sort"), Order: q.Get("order")}
	if _, ok := sortKeys[rq.Sort]; !ok {
		rq.Sort = ""
	}
	if rq.Order != "desc" {
		rq.Order = ""
	}
	if !slices.Contains([]string{"active", "decommissioned", "recommissioned", "in-use"}, rq.Status) {
		rq.Status = ""
	}
	if len(rq.Q) > 100 {
		rq.Q = rq.Q[:100]
	}
	unknownLicense := false
	if rq.License != "" {
		if id, err := license.ParseID(rq.License); err != nil || a.byLicense[id] == nil {
			rq.License, unknownLicense = "", true // never echo an ID that is not the customer's
		}
	}
	v := &reportView{account: a, Query: rq, UnknownLicense: unknownLicense, Total: len(a.devices), Statuses: []string{"in-use", "active", "recommissioned", "decommissioned"}}
	for _, d := range a.devices {
		switch {
		case unknownLicense:
		case rq.License != "" && d.LicenseText != rq.License:
		case rq.Status == "in-use" && d.Status == "decommissioned":
		case rq.Status != "" && rq.Status != "in-use" && d.Status != rq.Status:
		case rq.Q != "" && !strings.Contains(strings.ToLower(d.Label), strings.ToLower(rq.Q)) && !(strings.HasPrefix(rq.Q, "dev_") && strings.HasPrefix(d.IDText, rq.Q)):
		default:
			v.Devices = append(v.Devices, d)
		}
	}
	order := sortKeys["first"]
	if rq.Sort != "" {
		order = sortKeys[rq.Sort]
	}
	slices.SortStableFunc(v.Devices, func(x, y *deviceView) int {
		c := order(x, y)
		if c == 0 {
			c = cmp.Compare(x.IDText, y.IDText)
		}
		if rq.Order == "desc" {
			return -c
		}
		return c
	})
	for _, c := range [][2]string{{"label", "Label"}, {"device", "Device ID"}, {"license", "License"}, {"status", "Status"}, {"first", "First activation"}, {"last", "Last activation"}, {"checkin", "Last check-in"}, {"overage", "Overage"}} {
		col := column{Key: c[0], Label: c[1]}
		nq := rq
		nq.Sort, nq.Order = c[0], ""
		if rq.Sort == c[0] || (rq.Sort == "" && c[0] == "first") {
			col.Sort = "ascending"
			if rq.Order == "desc" {
				col.Sort = "descending"
			} else {
				nq.Order = "desc"
			}
		}
		col.Href = "/report?" + nq.values().Encode() + "#devices"
		v.Columns = append(v.Columns, col)
	}
	sel, unknown := a.selection(q["select"])
	v.Unknown = unknown
	for _, d := range sel {
		if why := a.refusal(d); why != "" {
			v.Refused = append(v.Refused, refusedDevice{d, why})
			continue
		}
		d.Selected = true
		v.Selected = append(v.Selected, d)
	}
	v.SelectQS = selectQuery(v.Selected)
	p.render(w, http.StatusOK, "report", page{Title: "License Report", CSRF: s.csrf, Customer: s.Subject, Data: v})
}

// termsView is the page that asks to accept the terms and verify the list.
type termsView struct {
	Selected []*deviceView
	Refused  []refusedDevice
	Unknown  int
	Error    string
	SelectQS string
}

// termsPage follows Decommission: the terms, the list again and the checkbox.
func (p *portal) termsPage(w http.ResponseWriter, r *http.Request, s *session) {
	a, err := p.load(s.Subject)
	if err != nil {
		p.internal(w, r, err)
		return
	}
	v := p.terms(a, r.URL.Query()["select"])
	p.render(w, http.StatusOK, "terms", page{Title: "Decommission: accept the terms", CSRF: s.csrf, Customer: s.Subject, Data: v})
}

func (p *portal) terms(a *account, vals []string) *termsView {
	sel, unknown := a.selection(vals)
	v := &termsView{Unknown: unknown}
	for _, d := range sel {
		if why := a.refusal(d); why != "" {
			v.Refused = append(v.Refused, refusedDevice{d, why})
		} else {
			v.Selected = append(v.Selected, d)
		}
	}
	v.SelectQS = selectQuery(v.Selected)
	return v
}

// reallocate decommissions the verified list: every device must be the
// customer's and free to decommission, and the terms accepted, or nothing
// changes. Each goes through issuer.Ledger.Decommission under the actor
// "portal:customer:NAME"; the contact gets a confirmation per license.
func (p *portal) reallocate(w http.ResponseWriter, r *http.Request, s *session) {
	a, err := p.load(s.Subject)
	if err != nil {
		p.internal(w, r, err)
		return
	}
	v := p.terms(a, r.PostForm["select"])
	switch {
	case v.Unknown > 0 || len(v.Refused) > 0:
		v.Error = "Nothing was decommissioned: the list holds machines that cannot be decommissioned (see below). Go back to the report and select again."
	case len(v.Selected) == 0:
		v.Error = "Nothing was decommissioned: the Decommission List is empty."
	case r.PostFormValue("accept") != "yes":
		v.Error = "Nothing was decommissioned: tick the box to accept the terms and verify the list."
	}
	if v.Error != "" {
		p.render(w, http.StatusBadRequest, "terms", page{Title: "Decommission: accept the terms", CSRF: s.csrf, Customer: s.Subject, Data: v})
		return
	}
	l := p.l.WithActor("portal:customer:" + s.Subject)
	done := map[license.ID][]*deviceView{}
	var order []license.ID
	var failed []string
	for _, d := range v.Selected {
		if err := l.Decommission(d.ID); err != nil {
			failed = append(failed, fmt.Sprintf("%s (%s): %v", plain(d.Label), d.IDText, err))
			continue
		}
		if done[d.License] == nil {
			order = append(order, d.License)
		}
		done[d.License] = append(done[d.License], d)
	}
	p.confirm(s.Subject, order, done)
	q := url.Values{}
	for _, id := range order {
		for _, d := range done[id] {
			q.Add("d", d.IDText)
		}
	}
	if len(failed) > 0 {
		q.Set("failed", fmt.Sprint(len(failed)))
		p.log.Warn("portal: decommission refused", "customer", s.Subject, "devices", strings.Join(failed, "; "))
	}
	http.Redirect(w, r, "/reallocate/done?"+q.Encode(), http.StatusSeeOther)
}

// confirm mails the contact one confirmation per license and records it.
func (p *portal) confirm(customer string, order []license.ID, done map[license.ID][]*deviceView) {
	lics, err := p.l.PortalLicenses(issuer.Filter{Customer: customer})
	if err != nil {
		p.log.Error("portal: confirmation", "err", err)
		return
	}
	for _, lic := range lics {
		devs := done[lic.License]
		if len(devs) == 0 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "As requested in the license portal on %s, these machines were decommissioned on license %s (%s %s):\n\n",
			p.now().Format("2006-01-02 15:04 MST"), lic.License, plain(lic.Product), plain(lic.Edition))
		for _, d := range devs {
			fmt.Fprintf(&b, "  %s  %s\n", d.IDText, plain(d.Label))
		}
		fmt.Fprintf(&b, "\nTheir seats are free now: the license uses %d of %d seats. The machines stop working with the next revocation list.\n"+
			"Activating one of them again takes a seat again and counts as a recommission.\n", lic.Used, lic.Seats)
		subject := fmt.Sprintf("%s decommissioned on your %s license", plural(len(devs), "machine", "machines"), plain(lic.Product))
		// The ledger recorded a confirmation per machine; this one mail
		// stands for them all, or they stay pending for 'seatkey notify'.
		if p.o.Mailer != nil && lic.Contact != "" {
			if err := p.o.Mailer.Send(lic.Contact, subject, b.String()); err != nil {
				p.log.Error("portal: mail confirmation", "err", err)
			} else if err := p.l.MarkDelivered(lic.License, "decommission-confirmation"); err != nil {
				p.log.Error("portal: mark confirmation delivered", "err", err)
			}
		}
	}
}

type doneView struct {
	Devices  []*deviceView
	Licenses []*licenseView
	Failed   bool
}

// donePage shows what was decommissioned and the seats now free. It shows
// only the customer's own devices, whatever the query names.
func (p *portal) donePage(w http.ResponseWriter, r *http.Request, s *session) {
	a, err := p.load(s.Subject)
	if err != nil {
		p.internal(w, r, err)
		return
	}
	sel, _ := a.selection(r.URL.Query()["d"])
	v := &doneView{Failed: r.URL.Query().Get("failed") != ""}
	seen := map[license.ID]bool{}
	for _, d := range sel {
		if d.Status != "decommissioned" {
			continue
		}
		v.Devices = append(v.Devices, d)
		if !seen[d.License] {
			seen[d.License] = true
			v.Licenses = append(v.Licenses, a.byLicense[d.License])
		}
	}
	p.render(w, http.StatusOK, "done", page{Title: "Machines decommissioned", CSRF: s.csrf, Customer: s.Subject, Data: v})
}

// through formats an end date as the terms do ("through 2027-05-31"): the
// last day covered is the day before an instant at midnight UTC.
func through(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		t = t.Add(-time.Second)
	}
	return "through " + t.Format(time.DateOnly)
}
