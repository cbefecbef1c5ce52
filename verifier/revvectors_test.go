package verifier_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

const revVectorFile = "../testdata/vectors/revocation.json"

type revVectors struct {
	Comment string `json:"comment"`
	Valid   struct {
		Token    string `json:"token"`
		Sequence uint64 `json:"sequence"`
		Revoked  []struct {
			Kind   string `json:"kind"`
			ID     string `json:"id"`
			Reason string `json:"reason"`
			At     string `json:"at"`
		} `json:"revoked"`
		TypicalLicense string `json:"typical_license_result"`
	} `json:"valid"`
	Invalid []invalidVector `json:"invalid"`
}

func generateRevocationVectors(t *testing.T) revVectors {
	k, _ := issuer.NewKeyFromSeed(seq(32))
	o, _ := issuer.NewKeyFromSeed(make([]byte, 32))
	lic := typicalClaims().ID
	act := [16]byte{0xac, 0x71}
	oid := o.ID()
	at := date("2026-05-01T00:00:00Z")
	issued, next := date("2026-05-31T00:00:00Z"), date("2026-06-07T00:00:00Z")
	lics := []license.Entry{{ID: lic[:], At: at, Reason: license.ReasonRefunded}}
	acts := []license.Entry{{ID: act[:], At: at, Reason: license.ReasonAbuse}}
	keys := []license.Entry{{ID: oid[:], At: at, Reason: license.ReasonRetired}}
	sign := func(key *issuer.Key, typ string, p []byte) []byte {
		tok, err := key.Sign(typ, p)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	rl, _ := license.NewRevocations("Acme Software", 7, issued, next, lics, acts, keys)
	p, _ := rl.Marshal()
	var vs revVectors
	vs.Comment = "seatkey revocation list vectors (SPEC.md section 11): verify with the license vectors' public key at their 'now'."
	vs.Valid.Token = hex.EncodeToString(sign(k, license.TypeRevocation, p))
	vs.Valid.Sequence = 7
	for _, e := range []struct{ kind, id, reason string }{
		{"license", lic.String(), "refunded"}, {"activation", license.FormatID("act", act[:]), "abuse"}, {"key", oid.String(), "retired"},
	} {
		vs.Valid.Revoked = append(vs.Valid.Revoked, struct {
			Kind   string `json:"kind"`
			ID     string `json:"id"`
			Reason string `json:"reason"`
			At     string `json:"at"`
		}{e.kind, e.id, e.reason, at.Format(time.RFC3339)})
	}
	vs.Valid.TypicalLicense = "ErrRevoked"
	add := func(name, errName string, tok []byte) {
		vs.Invalid = append(vs.Invalid, invalidVector{Name: name, Token: hex.EncodeToString(tok), Error: errName})
	}
	add("signed by an unknown key", "ErrUnknownKey", sign(o, license.TypeRevocation, p))
	add("license type", "ErrWrongType", sign(k, license.TypeLicense, p))
	raw := func(sk map[int]any) []byte {
		b, err := cborx.Marshal(map[int]any{1: "Acme Software", 6: issued.Unix(), license.ClaimSeatkey: sk})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	entries := func(ids ...[]byte) []byte {
		var out []byte
		for _, id := range ids {
			out = append(out, id...)
			out = append(out, 0x69, 0xf3, 0xed, 0x00, 0x02) // 2026-05-01, refunded
		}
		return out
	}
	hi := lic
	hi[0] = 0xff
	add("entries not sorted", "ErrRevocationList", sign(k, license.TypeRevocation, raw(map[int]any{1: 7, 2: next.Unix(), 3: entries(hi[:], lic[:])})))
	add("an entry cut short", "ErrRevocationList", sign(k, license.TypeRevocation, raw(map[int]any{1: 7, 2: next.Unix(), 3: entries(lic[:])[:20]})))
	add("empty entry list written out", "ErrNonCanonical", sign(k, license.TypeRevocation, raw(map[int]any{1: 7, 2: next.Unix(), 3: []byte{}})))
	add("sequence zero", "ErrRevocationList", sign(k, license.TypeRevocation, raw(map[int]any{1: 0, 2: next.Unix()})))
	add("unknown field 9", "ErrUnknownClaim", sign(k, license.TypeRevocation, raw(map[int]any{1: 7, 2: next.Unix(), 9: 1})))
	vs.Invalid = append(vs.Invalid, revocationPrecisionVectors(t, func(p []byte) []byte { return sign(k, license.TypeRevocation, p) }, issued, next)...)
	return vs
}

func TestRevocationVectors(t *testing.T) {
	if *update {
		b, _ := json.MarshalIndent(generateRevocationVectors(t), "", "  ")
		if err := os.WriteFile(revVectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(revVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs revVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if gen := generateRevocationVectors(t); gen.Valid.Token != vs.Valid.Token {
		t.Fatal("signing no longer reproduces the committed list")
	}
	lv := loadVectors(t)
	pk, _ := license.ParsePublicKey([]byte(lv.PublicKeyFile))
	keys := verifier.NewKeyring(pk)
	tok, _ := hex.DecodeString(vs.Valid.Token)
	rl, err := verifier.ParseRevocationList(tok, keys)
	if err != nil || rl.Sequence != vs.Valid.Sequence {
		t.Fatalf("valid list: %v", err)
	}
	for _, r := range vs.Valid.Revoked {
		var e license.Entry
		var ok bool
		switch r.Kind {
		case "license":
			id, _ := license.ParseID(r.ID)
			e, ok = rl.License(id)
		case "activation":
			b, _ := license.ParseIDBytes("act", r.ID, 16)
			e, ok = rl.Activation([16]byte(b))
		case "key":
			id, _ := license.ParseKeyID(r.ID)
			e, ok = rl.Key(id)
		}
		if !ok || e.Reason.String() != r.Reason || e.At.Format(time.RFC3339) != r.At {
			t.Errorf("%s %s: %v %+v", r.Kind, r.ID, ok, e)
		}
	}
	lic, _ := hex.DecodeString(lv.Valid[0].Token)
	if _, err := verifier.Verify(lic, verifier.Options{Keys: keys, Product: lv.Product, Now: lv.Now, Revocations: rl}); !errors.Is(err, verifier.ErrRevoked) {
		t.Errorf("typical license with the list: %v", err)
	}
	errs := map[string]error{"ErrUnknownKey": verifier.ErrUnknownKey, "ErrWrongType": license.ErrWrongType, "ErrRevocationList": license.ErrRevocationList,
		"ErrNonCanonical": license.ErrNonCanonical, "ErrUnknownClaim": license.ErrUnknownClaim}
	for _, v := range vs.Invalid {
		tok, _ := hex.DecodeString(v.Token)
		if _, err := verifier.ParseRevocationList(tok, keys); !errors.Is(err, errs[v.Error]) {
			t.Errorf("%s: got %v, want %s", v.Name, err, v.Error)
		}
	}
}
