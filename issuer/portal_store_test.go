package issuer

import (
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

func TestSignInLinks(t *testing.T) {
	l, _ := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Acme", 3, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{Contact: "it@acme.example"}); err != nil {
		t.Fatal(err)
	}
	lt, _ := license.Inspect(tok)
	h := sha256.Sum256([]byte("secret"))
	if err := l.CreateSignInLink(h[:], lt.Claims.ID, ledgerNow, ledgerNow.Add(15*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !l.SignInLinkUsable(h[:], ledgerNow) || l.SignInLinkUsable(h[:], ledgerNow.Add(16*time.Minute)) {
		t.Error("usable before expiry only")
	}
	if _, err := l.ConsumeSignInLink(h[:], ledgerNow.Add(16*time.Minute)); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("expired: %v", err)
	}
	if c, err := l.ConsumeSignInLink(h[:], ledgerNow.Add(time.Minute)); err != nil || c != "Acme" {
		t.Fatalf("first use: %q %v", c, err)
	}
	if _, err := l.ConsumeSignInLink(h[:], ledgerNow.Add(time.Minute)); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("second use: %v", err)
	}
	other := sha256.Sum256([]byte("other"))
	if _, err := l.ConsumeSignInLink(other[:], ledgerNow); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("unknown link: %v", err)
	}
	// A link for an unknown license records nothing.
	if err := l.CreateSignInLink(other[:], license.NewID(), ledgerNow, ledgerNow.Add(time.Hour)); err != nil || l.SignInLinkUsable(other[:], ledgerNow) {
		t.Errorf("link for an unknown license: %v", err)
	}
}

func TestPortalSessions(t *testing.T) {
	l, _ := newLedger(t)
	h := sha256.Sum256([]byte("s"))
	s := PortalSession{Kind: "customer", Subject: "Acme", CSRF: []byte("c")}
	if err := l.CreatePortalSession(h[:], s, ledgerNow, 30*time.Minute, 8*time.Hour); err != nil {
		t.Fatal(err)
	}
	at := ledgerNow
	for i := 0; i < 15; i++ { // 29 minutes apart: idle never reached, 7h15 in all
		at = at.Add(29 * time.Minute)
		if got, err := l.TouchPortalSession(h[:], at); err != nil || got.Subject != "Acme" {
			t.Fatalf("touch at %v: %v", at, err)
		}
	}
	if _, err := l.TouchPortalSession(h[:], at.Add(30*time.Minute)); !errors.Is(err, ErrNoSession) {
		t.Errorf("idle: %v", err)
	}
	if err := l.CreatePortalSession(h[:], s, ledgerNow, 30*time.Minute, 8*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TouchPortalSession(h[:], ledgerNow.Add(8*time.Hour)); !errors.Is(err, ErrNoSession) {
		t.Errorf("absolute: %v", err)
	}
}

func TestOperatorPasswords(t *testing.T) {
	l, _ := newLedger(t)
	if err := l.AddOperator("alice", []byte("correct horse battery"), false); err != nil {
		t.Fatal(err)
	}
	var stored string
	l.db.QueryRow(`SELECT password_hash FROM portal_operators WHERE name = 'alice'`).Scan(&stored)
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=65536,t=2,p=2$") || strings.Contains(stored, "correct horse") {
		t.Errorf("stored %q", stored)
	}
	// Parameters are read from the hash: a hash made with others still checks.
	light := HashPassword([]byte("pw"), Argon2Params{Memory: 8 * 1024, Time: 1, Threads: 1})
	if !CheckPassword(light, []byte("pw")) || CheckPassword(light, []byte("pW")) {
		t.Error("light parameters")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=65536,t=2,p=2$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA", strings.Replace(light, "m=8192", "m=4294967295", 1),
		strings.Replace(light, "t=1", "t=0", 1), light[:len(light)-4]} {
		if CheckPassword(bad, []byte("pw")) {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, err := l.CheckOperator("alice", []byte("wrong")); !errors.Is(err, ErrBadPassword) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := l.CheckOperator("nobody", []byte("correct horse battery")); !errors.Is(err, ErrBadPassword) {
		t.Errorf("unknown name: %v", err)
	}
}

// TestWithActorConcurrent: per-call actors never leak into each other's
// events, and the shared Actor is untouched (run with -race).
func TestWithActorConcurrent(t *testing.T) {
	l, _ := newLedger(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := "cust" + string(rune('A'+i))
			if _, err := l.db.Exec(`INSERT INTO customers (name, suspended) VALUES (?, 1)`, name); err != nil {
				t.Error(err)
				return
			}
			if err := l.WithActor("portal:op:" + name).Unsuspend(name); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	var bad int
	l.db.QueryRow(`SELECT COUNT(*) FROM events e JOIN customers c ON c.id = e.customer_id WHERE e.kind = 'unsuspended' AND e.actor <> 'portal:op:' || c.name`).Scan(&bad)
	if bad != 0 || l.Actor != "test" {
		t.Errorf("%d events under another actor; Actor %q", bad, l.Actor)
	}
}
