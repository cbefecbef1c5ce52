package portal

import (
	"database/sql"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestOperators(t *testing.T) {
	e := newEnv(t, RateLimit{})
	if err := e.l.AddOperator("alice", []byte("correct horse battery"), false); err != nil {
		t.Fatal(err)
	}
	if err := e.l.AddOperator("bob", []byte("read only password"), true); err != nil {
		t.Fatal(err)
	}
	login := func(name, pw string) (*client, int) {
		c := newClient(t, e.srv.URL)
		code, _ := c.post("/ops/login", url.Values{"name": {name}, "password": {pw}, "csrf": {c.csrf("/ops/")}})
		return c, code
	}
	if _, code := login("alice", "wrong password!!"); code != http.StatusForbidden {
		t.Errorf("wrong password: %d", code)
	}
	if _, code := login("mallory", "whatever password"); code != http.StatusForbidden {
		t.Errorf("unknown operator: %d", code)
	}
	// A customer session is not an operator session.
	cust := e.signIn(t, e.acmeSub.String())
	if code, _ := cust.post("/ops/revoke", url.Values{"license": {e.globex.String()}, "reason": {"abuse"}, "csrf": {cust.csrf("/report")}}); code != http.StatusForbidden {
		t.Errorf("customer revoking: %d", code)
	}
	bob, _ := login("bob", "read only password")
	_, body := bob.get("/ops/")
	if !strings.Contains(body, "identity conflict: request labelled &#34;borrowed&#34;") {
		t.Errorf("dashboard lacks the flagged license")
	}
	if !strings.Contains(body, "Read-only account") || strings.Contains(body, `action="/ops/revoke"`) {
		t.Errorf("read-only dashboard shows write forms")
	}
	csrf := bob.csrf("/ops/")
	for path, form := range map[string]url.Values{
		"/ops/revoke":    {"license": {e.globex.String()}, "reason": {"abuse"}},
		"/ops/unsuspend": {"customer": {"Initech"}},
		"/ops/publish":   {},
	} {
		form.Set("csrf", csrf)
		if code, body := bob.post(path, form); code != http.StatusForbidden || !strings.Contains(body, "read-only") {
			t.Errorf("read-only %s: %d", path, code)
		}
	}
	revs, _ := e.l.ActiveRevocations()
	lists, _ := e.l.PublishedRevocationLists(10)
	names, _, _ := e.l.SuspendedCustomers()
	if len(revs) > 0 && revs[0].Kind == "license" || len(lists) != 0 || len(names) != 1 {
		t.Fatalf("read-only operator changed the ledger: %v %v", revs, lists)
	}
	alice, code := login("alice", "correct horse battery")
	if code != 200 {
		t.Fatalf("alice: %d", code)
	}
	// An operator's session secret is no customer session, and the reverse.
	u := mustURL(e.srv.URL)
	swap := func(from *client, fromName, toName string) *client {
		c := newClient(t, e.srv.URL)
		for _, ck := range from.c.Jar.Cookies(u) {
			if ck.Name == fromName {
				c.c.Jar.SetCookies(u, []*http.Cookie{{Name: toName, Value: ck.Value, Path: "/"}})
			}
		}
		return c
	}
	if _, body := swap(alice, cookieOperator, cookieCustomer).get("/report"); strings.Contains(body, "License Report") {
		t.Error("an operator session opened the customer report")
	}
	if _, body := swap(cust, cookieCustomer, cookieOperator).get("/ops/"); !strings.Contains(body, "Operator sign-in") {
		t.Error("a customer session opened the operator pages")
	}
	csrf = alice.csrf("/ops/")
	if code, _ := alice.post("/ops/revoke", url.Values{"license": {e.globex.String()}, "reason": {"abuse"}}); code != http.StatusForbidden {
		t.Errorf("revoke without csrf: %d", code)
	}
	if code, body := alice.post("/ops/revoke", url.Values{"license": {e.globex.String()}, "reason": {"abuse"}, "csrf": {csrf}}); code != 200 || !strings.Contains(body, "The license was revoked") {
		t.Fatalf("revoke: %d", code)
	}
	if code, body := alice.post("/ops/unsuspend", url.Values{"customer": {"Initech"}, "csrf": {csrf}}); code != 200 || !strings.Contains(body, "unsuspended") {
		t.Fatalf("unsuspend: %d", code)
	}
	if names, _, _ := e.l.SuspendedCustomers(); len(names) != 0 {
		t.Errorf("still suspended: %v", names)
	}
	code, body = alice.post("/ops/publish", url.Values{"csrf": {csrf}})
	if code != 200 || !strings.Contains(body, "Revocation list 1") || !strings.Contains(body, "BEGIN SEATKEY") {
		t.Fatalf("publish: %d\n%s", code, body)
	}
	// Every action is in the event log under the operator's name.
	db, err := sql.Open("sqlite", e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	db.QueryRow(`SELECT COUNT(*) FROM events WHERE actor = 'portal:op:alice' AND kind IN ('revoked', 'revocation-list', 'unsuspended')`).Scan(&n)
	if n != 3 {
		t.Errorf("%d events by portal:op:alice, want 3", n)
	}
}
