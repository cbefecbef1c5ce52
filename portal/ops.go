package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// revokeReasons are the reasons an operator may give for revoking a license.
var revokeReasons = []string{"unspecified", "refunded", "abuse", "leaked", "superseded"}

// opsMessages are the fixed notices shown after an action (?done=...).
var opsMessages = map[string]string{
	"unsuspended": "The customer was unsuspended.",
	"revoked":     "The license was revoked. Publish the next revocation list to reach its machines.",
	"already":     "The license was already revoked for this reason; nothing changed.",
}

// operator wraps an operator handler; write handlers refuse read-only
// accounts with 403, and every POST must carry the session's CSRF token.
func (p *portal) operator(write bool, h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := p.session(r, cookieOperator, "operator")
		if s == nil {
			p.fail(w, r, http.StatusForbidden, "Signed out", "Your operator session ended. Sign in again; nothing was changed.")
			return
		}
		if r.Method == http.MethodPost && !s.checkCSRF(r) {
			p.forbiddenCSRF(w, r)
			return
		}
		ro, err := p.l.OperatorReadOnly(s.Subject)
		if err != nil {
			p.endSession(w, r, cookieOperator)
			p.fail(w, r, http.StatusForbidden, "Account removed", "This operator account no longer exists. Nothing was changed.")
			return
		}
		if write && ro {
			p.fail(w, r, http.StatusForbidden, "Read-only account", "Your operator account is read-only: it can see every page but change nothing. Nothing was changed. Ask for a read-write account.")
			return
		}
		h(w, r, s)
	}
}

type opsView struct {
	Done        string // the action just done (names the notice, for tests and screen readers)
	Message     string
	Error       string
	Near        []issuer.PortalLicense
	All         []issuer.PortalLicense
	Suspended   []suspended
	Flags       []issuer.Flag
	Migrations  []issuer.Summary // licenses in migration grace, flagged or disabled (SPEC 10.4 rule 11)
	Revocations []issuer.Revocation
	Lists       []issuer.PublishedList
	CanPublish  bool
	Reasons     []string
	Published   *published
}

type suspended struct {
	Name          string
	Recommissions int
}

type published struct {
	List                        *license.Revocations
	Licenses, Activations, Keys int
	Armor                       string
}

// opsHome is the operator sign-in form, or the dashboard when signed in.
func (p *portal) opsHome(w http.ResponseWriter, r *http.Request) {
	s := p.session(r, cookieOperator, "operator")
	if s == nil {
		p.render(w, http.StatusOK, "opslogin", page{Title: "Operator sign-in", CSRF: p.preCSRF(w, r)})
		return
	}
	v := &opsView{}
	if d := r.URL.Query().Get("done"); opsMessages[d] != "" {
		v.Done, v.Message = d, opsMessages[d]
	}
	p.dashboard(w, r, s, http.StatusOK, v)
}

func (p *portal) dashboard(w http.ResponseWriter, r *http.Request, s *session, status int, v *opsView) {
	ro, err := p.l.OperatorReadOnly(s.Subject)
	if err != nil {
		p.endSession(w, r, cookieOperator)
		http.Redirect(w, r, "/ops/", http.StatusSeeOther)
		return
	}
	if v.All, err = p.l.PortalLicenses(issuer.Filter{}); err != nil {
		p.internal(w, r, err)
		return
	}
	for _, l := range v.All {
		if l.Seats > 0 && l.Used*100 >= 90*l.Seats || l.Overage > 0 {
			v.Near = append(v.Near, l)
		}
	}
	names, recs, err := p.l.SuspendedCustomers()
	if err != nil {
		p.internal(w, r, err)
		return
	}
	for i := range names {
		v.Suspended = append(v.Suspended, suspended{names[i], recs[i]})
	}
	if v.Flags, err = p.l.Flags(50); err != nil {
		p.internal(w, r, err)
		return
	}
	sums, err := p.l.Summaries(issuer.Filter{})
	if err != nil {
		p.internal(w, r, err)
		return
	}
	for _, s := range sums {
		if !s.MigrationUntil.IsZero() || !s.FlaggedAt.IsZero() || !s.DisabledAt.IsZero() {
			v.Migrations = append(v.Migrations, s)
		}
	}
	if v.Revocations, err = p.l.ActiveRevocations(); err != nil {
		p.internal(w, r, err)
		return
	}
	if v.Lists, err = p.l.PublishedRevocationLists(10); err != nil {
		p.internal(w, r, err)
		return
	}
	v.CanPublish, v.Reasons = p.o.Key != nil, revokeReasons
	p.render(w, status, "ops", page{Title: "Operations", CSRF: s.csrf, Operator: s.Subject, ReadOnly: ro, Data: v})
}

func (p *portal) opsLogin(w http.ResponseWriter, r *http.Request) {
	if !checkPreCSRF(r) {
		p.forbiddenCSRF(w, r)
		return
	}
	name := r.PostFormValue("name")
	now := p.now()
	if !p.allowSignIn(w, r, now, "op:"+strings.ToLower(name), "Too many sign-in attempts from here or for this account. Wait 15 minutes and try again.") {
		return
	}
	if _, err := p.l.CheckOperator(name, []byte(r.PostFormValue("password"))); err != nil {
		if !errors.Is(err, issuer.ErrBadPassword) {
			p.internal(w, r, err)
			return
		}
		p.render(w, http.StatusForbidden, "opslogin", page{Title: "Operator sign-in", CSRF: p.preCSRF(w, r), Data: "Unknown operator or wrong password."})
		return
	}
	if err := p.startSession(w, cookieOperator, "operator", name); err != nil {
		p.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/ops/", http.StatusSeeOther)
}

func (p *portal) opsLogout(w http.ResponseWriter, r *http.Request) {
	if s := p.session(r, cookieOperator, "operator"); s != nil && !s.checkCSRF(r) {
		p.forbiddenCSRF(w, r)
		return
	}
	p.endSession(w, r, cookieOperator)
	http.Redirect(w, r, "/ops/", http.StatusSeeOther)
}

func (p *portal) actor(s *session) *issuer.Ledger { return p.l.WithActor("portal:op:" + s.Subject) }

func (p *portal) opsUnsuspend(w http.ResponseWriter, r *http.Request, s *session) {
	err := p.actor(s).Unsuspend(r.PostFormValue("customer"))
	if errors.Is(err, issuer.ErrUnknownCustomer) {
		p.dashboard(w, r, s, http.StatusBadRequest, &opsView{Error: "No customer has this name; nothing changed."})
		return
	} else if err != nil {
		p.internal(w, r, err)
		return
	}
	http.Redirect(w, r, "/ops/?done=unsuspended", http.StatusSeeOther)
}

func (p *portal) opsRevoke(w http.ResponseWriter, r *http.Request, s *session) {
	text := strings.TrimSpace(r.PostFormValue("license"))
	id, err := license.ParseID(text)
	if err != nil {
		p.dashboard(w, r, s, http.StatusBadRequest, &opsView{Error: "That is not a license ID (lic_...); nothing changed."})
		return
	}
	if _, _, err := p.l.LicenseCustomer(id); err != nil {
		p.dashboard(w, r, s, http.StatusBadRequest, &opsView{Error: "No license in the ledger has this ID; nothing changed."})
		return
	}
	reason, err := license.ParseReason(r.PostFormValue("reason"))
	if err != nil || reason == license.ReasonKeyCompromise || reason == license.ReasonRetired {
		p.dashboard(w, r, s, http.StatusBadRequest, &opsView{Error: "Choose one of the listed reasons; nothing changed."})
		return
	}
	already, err := p.actor(s).Revoke(id.String(), reason, p.now())
	if err != nil {
		p.internal(w, r, err)
		return
	}
	done := "revoked"
	if already {
		done = "already"
	}
	http.Redirect(w, r, "/ops/?done="+done, http.StatusSeeOther)
}

// opsPublish signs the next revocation list and shows it.
func (p *portal) opsPublish(w http.ResponseWriter, r *http.Request, s *session) {
	if p.o.Key == nil {
		p.dashboard(w, r, s, http.StatusConflict, &opsView{Error: "This portal runs without the signing key, so it cannot sign a revocation list. Publish with 'seatkey crl --key ...' on the issuer machine."})
		return
	}
	tok, list, err := p.actor(s).PublishRevocationList(p.o.Key, p.o.Vendor, p.o.ListValidity)
	if err != nil {
		p.dashboard(w, r, s, http.StatusConflict, &opsView{Error: fmt.Sprintf("The list was not published: %v", err)})
		return
	}
	pub := &published{List: list, Armor: string(license.Armor(license.TypeRevocation, tok))}
	pub.Licenses, pub.Activations, pub.Keys = list.Len()
	v := &opsView{Done: "published", Message: fmt.Sprintf("Published revocation list %d.", list.Sequence), Published: pub}
	p.dashboard(w, r, s, http.StatusOK, v)
}
