package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

func TestActivateOnlineGivesTheOfflineBytes(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 5, license.Subscription, 0, false)
	req := request(t, lic, 1, false)
	r := f.activate(req)
	if r.status != http.StatusCreated || r.header.Get("Seatkey-Outcome") != "new-device" {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	// The body is what 'seatkey activate' writes to the .act file.
	var stored []byte
	actID, _ := activation.ParseID(r.header.Get("Seatkey-Activation"))
	db := f.rawDB()
	defer db.Close()
	if err := db.QueryRow(`SELECT token FROM activations WHERE id = ?`, actID[:]).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.body, license.Armor(license.TypeActivation, stored)) {
		t.Fatalf("body is not the armored activation token:\n%s", r.body)
	}
	keys := verifier.NewKeyring(f.key.Public())
	if _, err := verifier.VerifyActivation(lic, r.body, fpOf(1), verifier.Options{Keys: keys, Product: product, Now: t0}); err != nil {
		t.Fatalf("activation from the server does not verify offline: %v", err)
	}
	// The same request again: the same activation, 200, nothing new.
	before := f.counts()
	again := f.activate(req)
	if again.status != http.StatusOK || again.header.Get("Seatkey-Outcome") != "replayed" || !bytes.Equal(again.body, r.body) {
		t.Fatalf("replay: %d %s", again.status, again.header.Get("Seatkey-Outcome"))
	}
	sameCounts(t, before, f.counts())
	// Binary on request, from a binary request.
	rq, _ := activation.ParseRequest(request(t, lic, 1, false))
	bin, _ := rq.MarshalBinary()
	b := f.do("POST", "/v1/activations", TypeActivationRequest, "", bin, "Accept", license.TypeActivation)
	if b.status != http.StatusOK || b.header.Get("Seatkey-Outcome") != "same-device" || b.header.Get("Content-Type") != license.TypeActivation || b.body[0] != 0xd2 {
		t.Fatalf("binary: %d %v", b.status, b.header)
	}
}

func TestActivationRefusals(t *testing.T) {
	f := newFixture(t)
	one := f.mint("Initech", 1, license.Subscription, 1, false)
	f.activated(one, 1)
	if r := f.activate(request(t, one, 2, true)); r.status != http.StatusCreated || r.header.Get("Seatkey-Failover") != "true" {
		t.Fatalf("failover: %d %s", r.status, r.body)
	}
	other, _ := issuer.GenerateKey()
	forged, _ := other.Mint(license.Claims{Vendor: "Acme", Customer: "Initech", Product: product, Edition: "pro", Seats: 100, Kind: license.Subscription,
		IssuedAt: t0.Add(-time.Hour), Expires: t0.AddDate(1, 0, 0)})
	expired, _ := f.key.Mint(license.Claims{Vendor: "Acme", Customer: "Initech", Product: product, Edition: "pro", Seats: 100, Kind: license.Subscription,
		IssuedAt: t0.AddDate(-1, 0, 0), Expires: t0.Add(-time.Hour)})
	wrongScope, _ := activation.NewRequest(one, machine(9).Digest("otherproduct"), "x", false)
	wrongScopeReq, _ := wrongScope.Armor()
	for _, tc := range []struct {
		name, ct string
		body     []byte
		status   int
		code     string
	}{
		{"seats exhausted", TypeText, request(t, one, 3, false), 409, "seats_exhausted"},
		{"failover exhausted", TypeText, request(t, one, 4, true), 409, "failover_exhausted"},
		{"license signed by another key", TypeText, request(t, forged, 5, false), 403, "unknown_key"},
		{"expired license", TypeText, request(t, expired, 6, false), 403, "license_expired"},
		{"fingerprint for another product", TypeText, wrongScopeReq, 422, "request_refused"},
		{"garbage", TypeText, []byte("hello"), 400, "malformed"},
		{"edited armor", TypeText, bytes.Replace(request(t, one, 7, false), []byte("A"), []byte("B"), 3), 400, "malformed"},
		{"empty", TypeText, nil, 400, "malformed"},
		{"JSON content type", TypeJSON, request(t, one, 8, false), 415, "unsupported_media_type"},
		{"no content type", "", request(t, one, 8, false), 415, "unsupported_media_type"},
		{"oversized", TypeText, bytes.Repeat([]byte("A"), MaxBody+1), 413, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.counts()
			r := f.do("POST", "/v1/activations", tc.ct, "", tc.body)
			if r.status != tc.status || r.errCode(t) != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			sameCounts(t, before, f.counts())
		})
	}
}

func TestSuspendedCustomer(t *testing.T) {
	f := newFixture(t)
	f.l.RecommissionLimit = 0
	lic := f.mint("Hooli", 2, license.Subscription, 0, false)
	act := f.activated(lic, 1)
	if r := f.do("POST", "/v1/returns", TypeJSON, "", proofBody(t, act, fpOf(1))); r.status != 200 {
		t.Fatalf("return: %d %s", r.status, r.body)
	}
	r := f.activate(request(t, lic, 1, false)) // a recommission beyond the limit of 0
	if r.status != 403 || r.errCode(t) != "customer_suspended" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	before := f.counts()
	if r := f.activate(request(t, lic, 2, false)); r.status != 403 || r.errCode(t) != "customer_suspended" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	sameCounts(t, before, f.counts())
	// Lifted by a vendor with a write token.
	if r := f.do("POST", "/v1/customers/Hooli/unsuspend", "", f.write, nil); r.status != 200 {
		t.Fatalf("unsuspend: %d %s", r.status, r.body)
	}
	if r := f.activate(request(t, lic, 2, false)); r.status != 201 {
		t.Fatalf("after unsuspend: %d %s", r.status, r.body)
	}
}

func TestCheckIn(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 5, license.Subscription, 0, false)
	act := f.activated(lic, 1)
	r := f.checkIn(act, fpOf(1))
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var res checkInJSON
	if err := json.Unmarshal(r.body, &res); err != nil || res.CheckIns != 1 || !res.LastSeen.Equal(t0) || res.SuspectedDuplicate || !res.Match.Same || res.Device == "" {
		t.Fatalf("%+v %v", res, err)
	}
	f.clock.Advance(time.Hour)
	// The armored activation works too.
	r = f.checkIn(license.Armor(license.TypeActivation, act), fpOf(1))
	json.Unmarshal(r.body, &res)
	if r.status != 200 || res.CheckIns != 2 || !res.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// The vendor sees when it was last seen.
	d := f.do("GET", "/v1/devices", "", f.read, nil)
	var devs struct{ Devices []DeviceInfo }
	json.Unmarshal(d.body, &devs)
	if len(devs.Devices) != 1 || devs.Devices[0].LastSeen == nil || !devs.Devices[0].LastSeen.Equal(t0.Add(time.Hour)) || devs.Devices[0].CheckIns != 2 {
		t.Fatalf("devices: %s", d.body)
	}
	// Inactive: not seen for 30 days.
	f.clock.Advance(31 * 24 * time.Hour)
	d = f.do("GET", "/v1/devices?inactive_for=720h", "", f.read, nil)
	json.Unmarshal(d.body, &devs)
	if len(devs.Devices) != 1 || !devs.Devices[0].Inactive {
		t.Fatalf("inactive: %s", d.body)
	}
	f.checkIn(act, fpOf(1))
	d = f.do("GET", "/v1/devices?inactive_for=720h", "", f.read, nil)
	json.Unmarshal(d.body, &devs)
	if len(devs.Devices) != 0 {
		t.Fatalf("checked in, still inactive: %s", d.body)
	}
}

// A copied activation: presented from a machine that is not the device.
func TestCheckInFromAnotherMachineIsFlagged(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 5, license.Subscription, 0, false)
	act := f.activated(lic, 1)
	before := f.counts()
	r := f.checkIn(act, fpOf(2))
	if r.status != 403 || r.errCode(t) != "device_mismatch" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	after := f.counts()
	if after["flagged"] != 1 || after["events"] != before["events"]+1 {
		t.Fatalf("not flagged: %v", after)
	}
	after["flagged"], after["events"], after["device_checkins"] = before["flagged"], before["events"], before["device_checkins"]
	sameCounts(t, before, after)
	// Repeating it is refused the same way and records nothing more.
	before = f.counts()
	for i := 0; i < 5; i++ {
		if r := f.checkIn(act, fpOf(3+i)); r.status != 403 || r.errCode(t) != "device_mismatch" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	sameCounts(t, before, f.counts())
	// The genuine machine still checks in, and the flag shows.
	r = f.checkIn(act, fpOf(1))
	var res checkInJSON
	if json.Unmarshal(r.body, &res); r.status != 200 || !res.SuspectedDuplicate {
		t.Fatalf("%d %s", r.status, r.body)
	}
}

// Two machines that both match the enrolled fingerprint (clones that share
// most hardware identity) take turns checking in: flagged on the first
// return to the earlier fingerprint within the window; a one-way hardware
// change, or a return after the window, is not.
func TestCheckInsAlternatingAreSuspectedDuplicates(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 5, license.Subscription, 0, false)
	variant := func(n int) *fingerprint.Fingerprint {
		p := machine(n)
		p.Set(fingerprint.NICs, "b0:7b:25:00:00:01", "b0:7c:25:99:99:99") // one NIC differs
		return p.Digest(product)
	}
	for _, tc := range []struct {
		name    string
		n       int
		gap     time.Duration
		steps   []bool // true: the variant
		flagged bool
	}{
		{"clones taking turns", 1, time.Minute, []bool{false, true, false}, true},
		{"NIC replaced for good", 2, time.Minute, []bool{false, true, true, true}, false},
		{"back after the window", 3, 2 * time.Hour, []bool{false, true, false}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			act := f.activated(lic, tc.n)
			var res checkInJSON
			for i, v := range tc.steps {
				fp := fpOf(tc.n)
				if v {
					fp = variant(tc.n)
				}
				f.clock.Advance(tc.gap)
				r := f.checkIn(act, fp)
				if r.status != 200 {
					t.Fatalf("step %d: %d %s", i, r.status, r.body)
				}
				json.Unmarshal(r.body, &res)
			}
			if res.SuspectedDuplicate != tc.flagged {
				t.Fatalf("suspected duplicate = %v, want %v", res.SuspectedDuplicate, tc.flagged)
			}
		})
	}
}

func TestCheckInRefusals(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 5, license.PerDeployment, 0, false)
	act := f.activated(lic, 1)
	revoked := f.activated(lic, 3)
	rc, _ := activation.ParseClaims(payload(t, revoked))
	if r := f.do("POST", "/v1/revocations", TypeJSON, f.write, []byte(`{"target":"`+rc.ID.String()+`","reason":"abuse"}`)); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}

	other, _ := issuer.GenerateKey()
	c, _ := activation.ParseClaims(payload(t, act))
	foreign, _ := other.Sign(license.TypeActivation, mustMarshal(t, c))
	unknownClaims := *c
	unknownClaims.ID = activation.NewID()
	unknown, _ := f.key.Sign(license.TypeActivation, mustMarshal(t, &unknownClaims))
	tampered := bytes.Clone(act)
	tampered[len(tampered)-70] ^= 1

	for _, tc := range []struct {
		name   string
		body   []byte
		ct     string
		status int
		code   string
	}{
		{"forged signature", proofBody(t, tampered, fpOf(1)), TypeJSON, 403, "bad_signature"},
		{"signed by another key", proofBody(t, foreign, fpOf(1)), TypeJSON, 403, "unknown_key"},
		{"validly signed, never issued", proofBody(t, unknown, fpOf(1)), TypeJSON, 404, "unknown_activation"},
		{"revoked activation", proofBody(t, revoked, fpOf(3)), TypeJSON, 403, "revoked"},
		{"fingerprint for another product", proofBody(t, act, machine(1).Digest("other")), TypeJSON, 400, "wrong_scope"},
		{"a license is not an activation", proofBody(t, lic, fpOf(1)), TypeJSON, 400, "malformed"},
		{"not JSON", []byte("activation=1"), TypeJSON, 400, "malformed"},
		{"unknown field", []byte(`{"activation":"AA==","fingerprint":"AA==","admin":true}`), TypeJSON, 400, "malformed"},
		{"missing fingerprint", []byte(`{"activation":"AA=="}`), TypeJSON, 400, "malformed"},
		{"two objects", append(proofBody(t, act, fpOf(1)), []byte(`{}`)...), TypeJSON, 400, "malformed"},
		{"wrong content type", proofBody(t, act, fpOf(1)), TypeText, 415, "unsupported_media_type"},
		{"oversized", append(proofBody(t, act, fpOf(1)), bytes.Repeat([]byte(" "), MaxBody)...), TypeJSON, 413, "body_too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.counts()
			for _, path := range []string{"/v1/checkins", "/v1/returns"} {
				r := f.do("POST", path, tc.ct, "", tc.body)
				if r.status != tc.status || r.errCode(t) != tc.code {
					t.Fatalf("%s: got %d %s, want %d %s", path, r.status, r.body, tc.status, tc.code)
				}
			}
			sameCounts(t, before, f.counts())
		})
	}
}

func payload(t testing.TB, tok []byte) []byte {
	m, err := cose.Parse(tok, license.MaxTokenSize)
	if err != nil {
		t.Fatal(err)
	}
	return m.Payload
}

func mustMarshal(t testing.TB, c *activation.Claims) []byte {
	b, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReturn(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 1, license.Subscription, 0, false)
	act := f.activated(lic, 1)
	if r := f.activate(request(t, lic, 2, false)); r.status != 409 {
		t.Fatalf("second device on one seat: %d", r.status)
	}
	// Another machine cannot return this device's seat.
	before := f.counts()
	if r := f.do("POST", "/v1/returns", TypeJSON, "", proofBody(t, act, fpOf(2))); r.status != 403 || r.errCode(t) != "device_mismatch" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if after := f.counts(); after["decommissioned"] != 0 {
		t.Fatal("seat returned by another machine")
	} else if before["devices"] != after["devices"] {
		t.Fatal("devices changed")
	}
	r := f.do("POST", "/v1/returns", TypeJSON, "", proofBody(t, act, fpOf(1)))
	if r.status != 200 || !strings.Contains(string(r.body), `"decommissioned"`) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	// The seat is free for machine 2; machine 1 can no longer check in or return.
	if r := f.activate(request(t, lic, 2, false)); r.status != 201 {
		t.Fatalf("freed seat: %d %s", r.status, r.body)
	}
	// (A return revokes the device's activations, SPEC 10.4 rule 6.)
	if r := f.checkIn(act, fpOf(1)); r.status != 403 || r.errCode(t) != "revoked" {
		t.Fatalf("check-in after return: %d %s", r.status, r.body)
	}
	if r := f.do("POST", "/v1/returns", TypeJSON, "", proofBody(t, act, fpOf(1))); r.status != 403 || r.errCode(t) != "revoked" {
		t.Fatalf("second return: %d %s", r.status, r.body)
	}
	// Per-deployment seats are never returned.
	pd := f.mint("Globex", 3, license.PerDeployment, 0, false)
	pact := f.activated(pd, 5)
	before = f.counts()
	if r := f.do("POST", "/v1/returns", TypeJSON, "", proofBody(t, pact, fpOf(5))); r.status != 409 || r.errCode(t) != "per_deployment" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	sameCounts(t, before, f.counts())
}

func TestRevocationListLatest(t *testing.T) {
	f := newFixture(t)
	if r := f.do("GET", "/v1/revocations/latest", "", "", nil); r.status != 404 || r.errCode(t) != "no_revocation_list" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	lic := f.mint("Globex", 5, license.Subscription, 0, false)
	lt, _ := license.Inspect(lic)
	f.do("POST", "/v1/revocations", TypeJSON, f.write, []byte(`{"target":"`+lt.Claims.ID.String()+`","reason":"refunded"}`))
	for want := uint64(1); want <= 2; want++ {
		p := f.do("POST", "/v1/revocations/publish", TypeJSON, f.write, []byte(`{"valid_for":"24h"}`))
		if p.status != 201 {
			t.Fatalf("publish: %d %s", p.status, p.body)
		}
		r := f.do("GET", "/v1/revocations/latest", "", "", nil)
		list, err := verifier.ParseRevocationList(r.body, verifier.NewKeyring(f.key.Public()))
		if r.status != 200 || err != nil || list.Sequence != want {
			t.Fatalf("latest: %d %v %s", r.status, err, r.body)
		}
		if _, ok := list.License(lt.Claims.ID); !ok {
			t.Fatal("list does not carry the revoked license")
		}
		if nm := f.do("GET", "/v1/revocations/latest", "", "", nil, "If-None-Match", r.header.Get("ETag")); nm.status != 304 {
			t.Fatalf("If-None-Match: %d", nm.status)
		}
	}
}

// checkInJSON is the check-in response as a client reads it.
type checkInJSON struct {
	Device             string    `json:"device"`
	Activation         string    `json:"activation"`
	License            string    `json:"license"`
	Status             string    `json:"status"`
	LastSeen           time.Time `json:"last_seen"`
	CheckIns           int64     `json:"checkins"`
	SuspectedDuplicate bool      `json:"suspected_duplicate"`
	Match              struct {
		Same bool `json:"same_device"`
	} `json:"match"`
}

// Check-ins follow the license: once it expires, the device is refused.
func TestCheckInAfterTheLicenseExpired(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 5, license.Subscription, 0, false) // expires t0 + 1 year
	act := f.activated(lic, 1)
	f.clock.Advance(366 * 24 * time.Hour)
	before := f.counts()
	if r := f.checkIn(act, fpOf(1)); r.status != 403 || r.errCode(t) != "license_expired" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	sameCounts(t, before, f.counts())
}

// The rest of the ledger's and verifier's refusals, each through the API.
func TestMoreRefusals(t *testing.T) {
	f := newFixture(t)
	// A perpetual license whose support has ended cannot return a seat.
	perp := f.mint("Globex", 5, license.Perpetual, 0, false) // upgrades until t0 + 1 year
	pact := f.activated(perp, 1)
	// A license not valid yet cannot activate.
	later, _ := f.key.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: 5,
		Kind: license.Subscription, IssuedAt: t0.Add(-time.Hour), NotBefore: t0.Add(30 * 24 * time.Hour), Expires: t0.AddDate(1, 0, 0)})
	// An activation issued after its signing key was retired.
	sub := f.mint("Globex", 5, license.Subscription, 0, false)
	sact := f.activated(sub, 2)
	for _, tc := range []struct {
		name, path, ct string
		body           []byte
		status         int
		code           string
	}{
		{"not yet valid", "/v1/activations", TypeText, request(t, later, 3, false), 403, "license_not_yet_valid"},
		{"key retired before the activation", "/v1/checkins", TypeJSON, proofBody(t, sact, fpOf(2)), 403, "key_retired"},
	} {
		if tc.code == "key_retired" {
			// Retired after the not-yet-valid case: a retired key signs no
			// activation at all (key_revoked), whatever the request.
			if _, err := f.l.Revoke(f.key.ID().String(), license.ReasonRetired, t0.Add(-time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		t.Run(tc.name, func(t *testing.T) {
			before := f.counts()
			r := f.do("POST", tc.path, tc.ct, "", tc.body)
			if r.status != tc.status || r.errCode(t) != tc.code {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			sameCounts(t, before, f.counts())
		})
	}
	f.l.Unrevoke(f.key.ID().String())
	f.clock.Advance(366 * 24 * time.Hour) // support ended; the license itself never expires
	before := f.counts()
	if r := f.do("POST", "/v1/returns", TypeJSON, "", proofBody(t, pact, fpOf(1))); r.status != 409 || r.errCode(t) != "no_support" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	sameCounts(t, before, f.counts())
}

// A leased license: the check-in answers with the activation signed again
// (API.md §3.2), which verifies after the first one ended; a refused
// refresh (the device activated again, so the old activation is
// superseded) answers an error and signs nothing.
func TestCheckInRefreshesALease(t *testing.T) {
	f := newFixture(t)
	c := license.Claims{Vendor: "Acme", Customer: "Globex", Product: product, Edition: "pro", Seats: 2, Kind: license.Subscription,
		IssuedAt: t0.Add(-24 * time.Hour), Expires: t0.AddDate(1, 0, 0)}
	lic, err := f.key.Mint(c)
	if err != nil {
		t.Fatal(err)
	}
	lease := 7 * 24 * time.Hour
	if err := f.l.RecordLicense(f.key, lic, issuer.LicensePolicy{Lease: lease}); err != nil {
		t.Fatal(err)
	}
	act := f.activated(lic, 1)
	f.clock.Advance(3 * 24 * time.Hour)
	r := f.checkIn(act, fpOf(1))
	var res struct {
		Activation string     `json:"activation"`
		Token      []byte     `json:"token"`
		Expires    *time.Time `json:"expires"`
	}
	if err := json.Unmarshal(r.body, &res); err != nil || r.status != 200 || res.Token == nil || res.Expires == nil || !res.Expires.Equal(f.clock.Now().Add(lease)) {
		t.Fatalf("%d %s", r.status, r.body)
	}
	kr := verifier.NewKeyring(f.key.Public())
	at := t0.Add(lease + time.Hour)
	if _, err := verifier.VerifyActivation(lic, act, fpOf(1), verifier.Options{Keys: kr, Product: product, Now: at}); !errors.Is(err, verifier.ErrActivationExpired) {
		t.Fatalf("the first activation after its lease: %v", err)
	}
	v, err := verifier.VerifyActivation(lic, res.Token, fpOf(1), verifier.Options{Keys: kr, Product: product, Now: at})
	if err != nil || v.Activation.ID.String() != res.Activation {
		t.Fatalf("the refreshed activation: %v", err)
	}
	// The device activates again: the old activation is superseded.
	if a := f.activate(request(t, lic, 1, false)); a.status != 200 {
		t.Fatalf("same device: %d %s", a.status, a.body)
	}
	before := f.counts()
	if r := f.checkIn(res.Token, fpOf(1)); r.status != 403 || r.errCode(t) != "revoked" || bytes.Contains(r.body, []byte(`"token"`)) {
		t.Fatalf("refresh of a superseded activation: %d %s", r.status, r.body)
	}
	sameCounts(t, before, f.counts())
}
