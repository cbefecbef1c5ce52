package verifier_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

const actVectorFile = "../testdata/vectors/activation.json"

// actVectors is the JSON form of testdata/vectors/activation.json (SPEC.md
// section 10.5): activation tokens for the typical license of the license
// vectors, checked with VerifyActivation against one current fingerprint.
type actVectors struct {
	Comment     string          `json:"comment"`
	License     string          `json:"license"`
	Current     string          `json:"current_fingerprint"`
	Valid       []invalidVector `json:"valid"` // Error empty
	Invalid     []invalidVector `json:"invalid"`
	ProfileFile string          `json:"current_profile_file"`
}

var actErrors = map[string]error{
	"ErrInvalidClaims":      license.ErrInvalidClaims,
	"ErrMalformed":          license.ErrMalformed,
	"ErrUnknownClaim":       license.ErrUnknownClaim,
	"ErrNonCanonical":       license.ErrNonCanonical,
	"ErrActivationMismatch": verifier.ErrActivationMismatch,
}

func generateActivationVectors(t *testing.T) actVectors {
	k, _ := issuer.NewKeyFromSeed(seq(32))
	lic, err := k.Mint(typicalClaims())
	if err != nil {
		t.Fatal(err)
	}
	const profileFile = "../fingerprint/testdata/profiles/server.json"
	pj, err := os.ReadFile(profileFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fingerprint.ParseProfileJSON(pj)
	if err != nil {
		t.Fatal(err)
	}
	current := p.Digest("ledgerpro")
	curBin, _ := current.MarshalBinary()
	enrolled, _ := current.Hardware().MarshalBinary()
	withSoftware := curBin
	vs := actVectors{
		Comment:     "seatkey activation vectors (SPEC.md section 10.5): verify each token with VerifyActivation, the license vectors' public key, 'license' (the typical license) and 'current_fingerprint', at the license vectors' 'now' for product ledgerpro.",
		License:     hex.EncodeToString(lic),
		Current:     hex.EncodeToString(curBin),
		ProfileFile: "fingerprint/testdata/profiles/server.json",
	}
	id := typicalClaims().ID
	iat := date("2026-02-01T00:00:00Z")
	act := [16]byte{0xac, 0x71}
	dev := [16]byte{0xde, 0x71}
	raw := func(v any) cbor.RawMessage {
		b, err := cborx.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	claims := func(edit func(top, sk map[int]any)) []byte {
		sk := map[int]any{1: id[:], 2: dev[:], 3: cbor.RawMessage(enrolled)}
		top := map[int]any{6: iat.Unix(), 7: act[:], license.ClaimSeatkey: sk}
		if edit != nil {
			edit(top, sk)
		}
		return raw(top)
	}
	sign := func(p []byte) string {
		tok, err := k.Sign(license.TypeActivation, p)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(tok)
	}
	good, err := activation.Claims{ID: act, License: id, Device: dev, IssuedAt: iat, Fingerprint: current.Hardware()}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(good) != string(claims(nil)) {
		t.Fatal("the map form of the activation no longer encodes like Claims.Marshal")
	}
	vs.Valid = append(vs.Valid, invalidVector{Name: "this machine, default policy", Token: sign(good)})
	zeroCPU := fingerprint.DefaultPolicy
	zeroCPU.Rules[fingerprint.CPU] = fingerprint.Rule{Weight: 0, Decisive: true}
	decisive, err := activation.Claims{ID: act, License: id, Device: dev, IssuedAt: iat, Fingerprint: current.Hardware(), Policy: &zeroCPU}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	vs.Valid = append(vs.Valid, invalidVector{Name: "a decisive rule of weight 0 (cpu [0, true])", Token: sign(decisive)})

	add := func(name, errName string, p []byte) {
		vs.Invalid = append(vs.Invalid, invalidVector{Name: name, Token: sign(p), Error: errName})
	}
	var fpMap map[int]cbor.RawMessage
	if err := cborx.DecMode.Unmarshal(enrolled, &fpMap); err != nil {
		t.Fatal(err)
	}
	fpMap[3] = raw(1)
	policy := func(extra map[int]any) cbor.RawMessage {
		var pm map[int]cbor.RawMessage
		b, _ := zeroCPU.MarshalBinary()
		cborx.DecMode.Unmarshal(b, &pm)
		var rules map[int]cbor.RawMessage
		cborx.DecMode.Unmarshal(pm[3], &rules)
		for k, v := range extra {
			rules[k] = raw(v)
		}
		pm[3] = raw(rules)
		return raw(pm)
	}
	add("software component hostname in the enrolled fingerprint", "ErrInvalidClaims", claims(func(_, sk map[int]any) { sk[3] = cbor.RawMessage(withSoftware) }))
	add("device ID missing", "ErrInvalidClaims", claims(func(_, sk map[int]any) { delete(sk, 2) }))
	add("enrolled fingerprint missing", "ErrInvalidClaims", claims(func(_, sk map[int]any) { delete(sk, 3) }))
	add("iat missing", "ErrInvalidClaims", claims(func(top, _ map[int]any) { delete(top, 6) }))
	add("unknown key 3 inside the enrolled fingerprint", "ErrMalformed", claims(func(_, sk map[int]any) { sk[3] = raw(fpMap) }))
	add("unknown key 9 in the seatkey claims", "ErrUnknownClaim", claims(func(_, sk map[int]any) { sk[9] = 1 }))
	add("unknown key 9 and device ID missing: the unknown key decides", "ErrUnknownClaim", claims(func(_, sk map[int]any) { sk[9] = 1; delete(sk, 2) }))
	add("policy rule [0, true] on hostname", "ErrMalformed", claims(func(_, sk map[int]any) { sk[4] = policy(map[int]any{11: []any{0, true}}) }))
	add("policy rule [0, false] written out", "ErrNonCanonical", claims(func(_, sk map[int]any) { sk[4] = policy(map[int]any{7: []any{0, false}}) }))
	def, _ := fingerprint.DefaultPolicy.MarshalBinary()
	add("the default policy written out", "ErrNonCanonical", claims(func(_, sk map[int]any) { sk[4] = cbor.RawMessage(def) }))
	add("overage false written out", "ErrNonCanonical", claims(func(_, sk map[int]any) { sk[5] = false }))
	add("device ID of 15 bytes", "ErrInvalidClaims", claims(func(_, sk map[int]any) { sk[2] = dev[:15] }))
	other := id
	other[15] ^= 1
	add("activation of another license", "ErrActivationMismatch", claims(func(_, sk map[int]any) { sk[1] = other[:] }))
	return vs
}

func TestActivationVectors(t *testing.T) {
	if *update {
		b, _ := json.MarshalIndent(generateActivationVectors(t), "", "  ")
		if err := os.WriteFile(actVectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(actVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs actVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	gen := generateActivationVectors(t)
	if len(gen.Valid) != len(vs.Valid) || gen.Valid[0].Token != vs.Valid[0].Token {
		t.Fatal("signing no longer reproduces the committed activations")
	}
	lv := loadVectors(t)
	pk, _ := license.ParsePublicKey([]byte(lv.PublicKeyFile))
	o := verifier.Options{Keys: verifier.NewKeyring(pk), Product: lv.Product, Now: lv.Now}
	lic, _ := hex.DecodeString(vs.License)
	curBin, _ := hex.DecodeString(vs.Current)
	current, err := fingerprint.ParseFingerprint(curBin)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs.Valid {
		tok, _ := hex.DecodeString(v.Token)
		if _, err := verifier.VerifyActivation(lic, tok, current, o); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
	}
	if len(vs.Invalid) < 13 {
		t.Fatalf("only %d invalid activation vectors", len(vs.Invalid))
	}
	for _, v := range vs.Invalid {
		tok, _ := hex.DecodeString(v.Token)
		want, ok := actErrors[v.Error]
		if !ok {
			t.Fatalf("%s: unknown error name %s", v.Name, v.Error)
		}
		_, err := verifier.VerifyActivation(lic, tok, current, o)
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %s", v.Name, err, v.Error)
		}
		if testing.Verbose() {
			t.Logf("%s: %v", v.Name, err)
		}
	}
}
