package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// signInPage is "/": the product key form.
func (p *portal) signInPage(w http.ResponseWriter, r *http.Request) {
	if p.session(r, cookieCustomer, "customer") != nil {
		http.Redirect(w, r, "/report", http.StatusSeeOther)
		return
	}
	p.render(w, http.StatusOK, "signin", page{Title: "Sign in", CSRF: p.preCSRF(w, r)})
}

// requestLink answers every well-formed request with the same page at
// once: whether the key exists, the link is made and mailed in the
// background, so neither the page nor its timing tells.
func (p *portal) requestLink(w http.ResponseWriter, r *http.Request) {
	if !checkPreCSRF(r) {
		p.forbiddenCSRF(w, r)
		return
	}
	key := strings.TrimSpace(r.PostFormValue("key"))
	now := p.now()
	// The key is counted only for attempts the IP limit lets through.
	if !p.allowSignIn(w, r, now, "key:"+strings.ToLower(key), "Too many sign-in attempts from here or for this key. Wait 15 minutes and try again.") {
		return
	}
	select {
	case p.mailSem <- struct{}{}:
		go func() {
			defer func() { <-p.mailSem }()
			p.issueLink(key, now)
		}()
	default:
		p.log.Warn("portal: sign-in link dropped: too many in flight")
	}
	p.render(w, http.StatusOK, "sent", page{Title: "Check your email", CSRF: p.preCSRF(w, r)})
}

// issueLink records and mails a sign-in link if key names a license whose
// customer has a contact; otherwise it does nothing.
func (p *portal) issueLink(key string, now time.Time) {
	id, err := license.ParseID(key)
	if err != nil {
		return
	}
	_, contact, err := p.l.LicenseCustomer(id)
	if err != nil || contact == "" || p.o.Mailer == nil {
		return
	}
	tok := secret()
	if err := p.l.CreateSignInLink(hashOf(tok), id, now, now.Add(LinkLifetime)); err != nil {
		p.log.Error("portal: sign-in link", "err", err)
		return
	}
	body := "Someone asked to sign in to the license portal with the product key " + id.String() + ".\n\n" +
		"Open this link to sign in (it works once, for 15 minutes):\n\n" + p.o.BaseURL + "/signin/" + tok + "\n\n" +
		"If it was not you, ignore this email: nothing happens until the link is used.\n"
	if err := p.o.Mailer.Send(contact, "Your license portal sign-in link", body); err != nil {
		p.log.Error("portal: mail sign-in link", "err", err)
	}
}

// linkPage is the emailed link: it only shows a button, because mail
// scanners fetch links; the POST uses the link.
func (p *portal) linkPage(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	if len(tok) != 43 || !p.l.SignInLinkUsable(hashOf(tok), p.now()) {
		p.fail(w, r, http.StatusGone, "Link used or expired", "This sign-in link was already used or has expired (links work once, for 15 minutes). Request a new one from the sign-in page.")
		return
	}
	p.render(w, http.StatusOK, "link", page{Title: "Sign in", CSRF: p.preCSRF(w, r), Data: tok})
}

func (p *portal) useLink(w http.ResponseWriter, r *http.Request) {
	if !checkPreCSRF(r) {
		p.forbiddenCSRF(w, r)
		return
	}
	if !p.allowSignIn(w, r, p.now(), "", "Too many sign-in attempts from here. Wait 15 minutes and try again.") {
		return
	}
	tok := r.PostFormValue("token")
	if len(tok) != 43 {
		p.fail(w, r, http.StatusGone, "Link used or expired", "This sign-in link was already used or has expired. Request a new one from the sign-in page.")
		return
	}
	cust, err := p.l.ConsumeSignInLink(hashOf(tok), p.now())
	if errors.Is(err, issuer.ErrLinkInvalid) {
		p.fail(w, r, http.StatusGone, "Link used or expired", "This sign-in link was already used or has expired (links work once, for 15 minutes). Request a new one from the sign-in page.")
		return
	} else if err != nil {
		p.internal(w, r, err)
		return
	}
	if err := p.startSession(w, cookieCustomer, "customer", cust); err != nil {
		p.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/report", http.StatusSeeOther)
}

func (p *portal) signOut(w http.ResponseWriter, r *http.Request) {
	if s := p.session(r, cookieCustomer, "customer"); s != nil {
		if !s.checkCSRF(r) {
			p.forbiddenCSRF(w, r)
			return
		}
	}
	p.endSession(w, r, cookieCustomer)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// reportCSV is exactly `seatkey report --csv --customer NAME`.
func (p *portal) reportCSV(w http.ResponseWriter, r *http.Request, s *session) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="license-report.csv"`)
	if err := p.l.WriteDeviceCSV(w, issuer.Filter{Customer: s.Subject}); err != nil {
		p.log.Error("portal: csv", "err", err)
	}
}

// account is everything of one customer the report pages show.
type account struct {
	Licenses  []*licenseView
	byLicense map[license.ID]*licenseView
	devices   map[string]*deviceView // by dev_... text
}

type licenseView struct {
	issuer.PortalLicense
	Percent       int
	Notifications []issuer.Notification
	Reason        string // why its devices cannot be reallocated now; "" if they can
	Renew         bool   // perpetual without current support: say what renewing gives
}

type deviceView struct {
	issuer.Device
	IDText      string
	LicenseText string
	LastCheckIn time.Time
	Selectable  bool // may go on the Decommission List
	Selected    bool
}

// load reads the customer's licenses and devices; every page reads its
// customer's account from here and looks IDs up in it, so an ID of another
// customer's is simply not found.
func (p *portal) load(customer string) (*account, error) {
	f := issuer.Filter{Customer: customer}
	lics, err := p.l.PortalLicenses(f)
	if err != nil {
		return nil, err
	}
	notes, err := p.l.LicenseNotifications(f)
	if err != nil {
		return nil, err
	}
	seen, err := p.l.LastCheckIns(f)
	if err != nil {
		return nil, err
	}
	a := &account{byLicense: map[license.ID]*licenseView{}, devices: map[string]*deviceView{}}
	now := p.now()
	for i := range lics {
		lv := &licenseView{PortalLicense: lics[i], Notifications: notes[lics[i].License]}
		if lv.Seats > 0 {
			lv.Percent = lv.Used * 100 / lv.Seats
		}
		switch err := lv.Reallocatable(now); {
		case errors.Is(err, issuer.ErrPerDeployment):
			lv.Reason = "This is a per-deployment license: each deployment is used for good, so its machines cannot be decommissioned to free a seat."
		case errors.Is(err, issuer.ErrNoSupport):
			lv.Reason = "This perpetual license's support (upgrade protection) ran " + through(lv.UpgradesUntil) +
				". Perpetual licenses can move seats between machines only while support is current."
			lv.Renew = true
		}
		a.Licenses = append(a.Licenses, lv)
		a.byLicense[lv.License] = lv
	}
	err = p.l.EachDevice(f, func(d *issuer.Device) error {
		dv := &deviceView{Device: *d, IDText: d.ID.String(), LicenseText: d.License.String(), LastCheckIn: seen[d.ID]}
		lv := a.byLicense[d.License]
		dv.Selectable = lv != nil && lv.Reason == "" && d.Status != "decommissioned"
		a.devices[dv.IDText] = dv
		return nil
	})
	return a, err
}

// selection reads the "select" values of a request: only devices of the
// account count; unknown ones (another customer's, made up) are dropped
// and counted, never shown.
func (a *account) selection(vals []string) (sel []*deviceView, unknown int) {
	seen := map[string]bool{}
	for _, v := range vals {
		if len(sel)+unknown >= maxSelect {
			unknown++
			continue
		}
		d := a.devices[v]
		if d == nil {
			unknown++
			continue
		}
		if !seen[v] {
			seen[v] = true
			sel = append(sel, d)
		}
	}
	return sel, unknown
}

// refusal says why a selected device cannot be decommissioned, or "".
func (a *account) refusal(d *deviceView) string {
	lv := a.byLicense[d.License]
	switch {
	case lv == nil:
		return "unknown license"
	case lv.Reason != "":
		return lv.Reason
	case d.Status == "decommissioned":
		return "already decommissioned"
	}
	return ""
}

func selectQuery(sel []*deviceView) string {
	v := url.Values{}
	for _, d := range sel {
		v.Add("select", d.IDText)
	}
	return v.Encode()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
