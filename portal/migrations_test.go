package portal

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// Operators see licenses in server-migration grace, flagged or disabled,
// with their dates (SPEC 10.4 rule 11).
func TestOperatorsSeeMigrations(t *testing.T) {
	e := newEnv(t, RateLimit{})
	if err := e.l.AddOperator("alice", []byte("correct horse battery"), false); err != nil {
		t.Fatal(err)
	}
	c := license.Claims{ID: license.NewID(), Vendor: "Acme Software", Customer: "Umbrella", Product: product, Edition: "pro", Seats: 1,
		Kind: license.Subscription, IssuedAt: start.AddDate(-1, 0, 0), Expires: start.AddDate(1, 0, 0)}
	tok, err := e.key.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.l.RecordLicense(e.key, tok, issuer.LicensePolicy{Contact: "it@umbrella.example"}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{301, 302} { // the second is a server migration
		r, err := activation.NewRequest(tok, machineProfile(n).Digest(product), "u", false)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := r.Armor()
		if _, err := e.l.Activate(e.key, b); err != nil {
			t.Fatal(err)
		}
	}
	c2 := newClient(t, e.srv.URL)
	if code, _ := c2.post("/ops/login", url.Values{"name": {"alice"}, "password": {"correct horse battery"}, "csrf": {c2.csrf("/ops/")}}); code >= 400 {
		t.Fatalf("login: %d", code)
	}
	_, body := c2.get("/ops/")
	section := body[strings.Index(body, `id="h-migrations"`):]
	section = section[:strings.Index(section, "</section>")]
	grace := start.Add(issuer.DefaultMigrationGrace).Format(time.DateOnly)
	if !strings.Contains(section, c.ID.String()) || !strings.Contains(section, "Umbrella") || !strings.Contains(section, grace) {
		t.Fatalf("the migration section lacks the license or its grace end %s:\n%s", grace, section)
	}
}
