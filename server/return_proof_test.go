package server

import (
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/attest"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/swtpm"
	"github.com/seatkey/seatkey/license"
	hw "github.com/seatkey/seatkey/machine"
)

// POST /v1/returns with a TPM-bound device's signed return proof frees the
// seat; a proof with another signature is 403 bad_proof and changes nothing.
func TestReturnWithTPMProof(t *testing.T) {
	f := newFixture(t)
	lic := f.mint("Globex", 2, license.Subscription, 0, false)
	sock, _ := swtpm.Start(t, swtpm.NewState(t))
	ek, err := hw.ReadEK(sock)
	if err != nil {
		t.Fatal(err)
	}
	p := machine(1)
	p.Set(fingerprint.TPMEK, ek)
	dev := attest.NewDevice(swtpm.Dial(t, sock))
	k, err := dev.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	req, err := activation.NewRequest(lic, p.Digest(product), "tpm-host", false)
	if err != nil {
		t.Fatal(err)
	}
	req.Attestation = &activation.Attestation{AK: k.Public, EK: k.EK, EKCert: k.EKCert, Handle: k.Handle}
	body, _ := req.Armor()
	r := f.activate(body)
	if r.status != 201 {
		t.Fatalf("attested activation: %d %s", r.status, r.body)
	}
	res, err := f.l.Activate(f.key, body) // the same request again: the same activation
	if err != nil {
		t.Fatal(err)
	}
	at := t0
	sig, err := dev.Sign(k.Handle, activation.ReturnMessage(res.Activation, at))
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := (&activation.ReturnProof{Activation: res.Activation, At: at.Add(time.Hour), Signature: sig}).Armor()
	before := f.counts()
	if r := f.do("POST", "/v1/returns", TypeReturnProof, "", forged); r.status != 403 || r.errCode(t) != "bad_proof" {
		t.Fatalf("forged proof: %d %s", r.status, r.body)
	}
	sameCounts(t, before, f.counts())
	good, _ := (&activation.ReturnProof{Activation: res.Activation, At: at, Signature: sig}).Armor()
	if r := f.do("POST", "/v1/returns", TypeReturnProof, "", good); r.status != 200 || !strings.Contains(string(r.body), res.Device.String()) {
		t.Fatalf("genuine proof: %d %s", r.status, r.body)
	}
}
