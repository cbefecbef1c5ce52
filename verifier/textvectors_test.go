package verifier_test

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

const textVectorFile = "../testdata/vectors/text-forms.json"

// textVector is one input to one reader (SPEC.md section 6): the input is
// text, or binary given in hex; the result is what the reader returns in
// text form, or the error it refuses with.
type textVector struct {
	Name     string `json:"name"`
	Reader   string `json:"reader"` // license, public-key, id-lic, id-key, id-act, id-dev, sniff
	Input    string `json:"input,omitempty"`
	InputHex string `json:"input_hex,omitempty"`
	Result   string `json:"result,omitempty"`
	Error    string `json:"error,omitempty"`
}

type textVectors struct {
	Comment string       `json:"comment"`
	Vectors []textVector `json:"vectors"`
}

var textErrors = map[string]error{
	"ErrArmor": license.ErrArmor, "ErrWrongType": license.ErrWrongType, "ErrBadKey": license.ErrBadKey,
	"ErrBadID": license.ErrBadID, "ErrMalformed": license.ErrMalformed, "ErrTooLarge": license.ErrTooLarge,
}

// readText runs the reader a vector names and returns its result in text form.
func readText(t *testing.T, v textVector) (string, error) {
	in := []byte(v.Input)
	if v.InputHex != "" {
		in, _ = hex.DecodeString(v.InputHex)
	}
	switch v.Reader {
	case "license":
		lv := loadVectors(t)
		pk, _ := license.ParsePublicKey([]byte(lv.PublicKeyFile))
		lic, err := verifier.Verify(in, verifier.Options{Keys: verifier.NewKeyring(pk), Product: lv.Product, Now: lv.Now})
		if err != nil {
			return "", err
		}
		return lic.ID.String(), nil
	case "public-key":
		k, err := license.ParsePublicKey(in)
		return k.ID().String(), err
	case "id-lic":
		id, err := license.ParseID(v.Input)
		return hex.EncodeToString(id[:]), err
	case "id-key":
		id, err := license.ParseKeyID(v.Input)
		return hex.EncodeToString(id[:]), err
	case "id-act":
		id, err := activation.ParseID(v.Input)
		return hex.EncodeToString(id[:]), err
	case "id-dev":
		id, err := activation.ParseDeviceID(v.Input)
		return hex.EncodeToString(id[:]), err
	case "sniff":
		return license.Sniff(in)
	}
	t.Fatalf("%s: unknown reader %q", v.Name, v.Reader)
	return "", nil
}

func generateTextVectors(t *testing.T) textVectors {
	lv := loadVectors(t)
	k, _ := issuer.NewKeyFromSeed(seq(32))
	tok, _ := hex.DecodeString(lv.Valid[0].Token)
	armored := license.Armor(license.TypeLicense, tok)
	line := license.Line(license.TypeLicense, tok)
	pubBin, _ := k.Public().MarshalBinary()
	cose := func(m map[int]any) string {
		b, err := cborx.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return hex.EncodeToString(b)
	}
	kid := k.ID()
	var act, rev string
	if b, err := os.ReadFile(actVectorFile); err == nil {
		var av actVectors
		json.Unmarshal(b, &av)
		act = av.Valid[0].Token
	}
	if b, err := os.ReadFile(revVectorFile); err == nil {
		var rv revVectors
		json.Unmarshal(b, &rv)
		rev = rv.Valid.Token
	}
	vs := textVectors{Comment: "seatkey text-form vectors (SPEC.md section 6): give each input (text, or input_hex as bytes) to the reader named; it must return result (in text form) or refuse with error. 'license' verifies as the license vectors do."}
	add := func(v textVector) { vs.Vectors = append(vs.Vectors, v) }
	licID := typicalClaims().ID.String()
	add(textVector{Name: "armored license with a byte order mark and CRLF line ends", Reader: "license", Input: "\ufeff" + strings.ReplaceAll(string(armored), "\n", "\r\n"), Result: licID})
	add(textVector{Name: "single line with a byte order mark, white space and CRLF around it", Reader: "license", Input: "\ufeff \t" + line + "\r\n\r\n", Result: licID})
	add(textVector{Name: "byte order mark after white space", Reader: "license", Input: " \ufeff" + string(armored), Error: "ErrMalformed"})
	add(textVector{Name: "armored license with a lone CR line end", Reader: "license", Input: strings.Replace(string(armored), "\n", "\r", 1), Error: "ErrArmor"})
	add(textVector{Name: "binary public key (COSE_Key)", Reader: "public-key", InputHex: hex.EncodeToString(pubBin), Result: kid.String()})
	add(textVector{Name: "public key as a single line", Reader: "public-key", Input: k.Public().Line(), Result: kid.String()})
	add(textVector{Name: "public key without alg", Reader: "public-key", InputHex: cose(map[int]any{1: 1, 2: kid[:], -1: 6, -2: []byte(k.Public().Key)}), Error: "ErrBadKey"})
	add(textVector{Name: "public key with alg -19 (Ed25519)", Reader: "public-key", InputHex: cose(map[int]any{1: 1, 2: kid[:], 3: -19, -1: 6, -2: []byte(k.Public().Key)}), Error: "ErrBadKey"})
	add(textVector{Name: "public key with an extra parameter 4", Reader: "public-key", InputHex: cose(map[int]any{1: 1, 2: kid[:], 3: -8, 4: []int{2}, -1: 6, -2: []byte(k.Public().Key)}), Error: "ErrBadKey"})
	add(textVector{Name: "public key armored as a LICENSE", Reader: "public-key", Input: strings.ReplaceAll(string(k.Public().Armor()), "PUBLIC KEY", "LICENSE"), Error: "ErrWrongType"})
	add(textVector{Name: "activation ID", Reader: "id-act", Input: license.FormatID("act", seq(16)), Result: hex.EncodeToString(seq(16))})
	add(textVector{Name: "device ID", Reader: "id-dev", Input: license.FormatID("dev", seq(16)), Result: hex.EncodeToString(seq(16))})
	add(textVector{Name: "key ID", Reader: "id-key", Input: kid.String(), Result: hex.EncodeToString(kid[:])})
	add(textVector{Name: "device ID where an activation ID is expected", Reader: "id-act", Input: license.FormatID("dev", seq(16)), Error: "ErrBadID"})
	add(textVector{Name: "license ID in upper case", Reader: "id-lic", Input: "lic_" + strings.ToUpper(licID[4:]), Error: "ErrBadID"})
	add(textVector{Name: "license ID with base32 padding", Reader: "id-lic", Input: licID + "======", Error: "ErrBadID"})
	add(textVector{Name: "activation ID of 25 letters", Reader: "id-act", Input: license.FormatID("act", seq(16))[:29], Error: "ErrBadID"})
	add(textVector{Name: "activation ID whose last letter has bits set past the 16 bytes", Reader: "id-act", Input: license.FormatID("act", seq(16))[:29] + "7", Error: "ErrBadID"})
	add(textVector{Name: "binary activation", Reader: "sniff", InputHex: act, Result: "ACTIVATION"})
	add(textVector{Name: "binary revocation list", Reader: "sniff", InputHex: rev, Result: "REVOCATION LIST"})
	add(textVector{Name: "binary public key", Reader: "sniff", InputHex: hex.EncodeToString(pubBin), Result: "PUBLIC KEY"})
	add(textVector{Name: "armored activation request label", Reader: "sniff", Input: "-----BEGIN SEATKEY ACTIVATION REQUEST-----\nAQ==\n-----END SEATKEY ACTIVATION REQUEST-----\n", Result: "ACTIVATION REQUEST"})
	add(textVector{Name: "unknown label", Reader: "sniff", Input: "-----BEGIN SEATKEY WIDGET-----\nAQ==\n-----END SEATKEY WIDGET-----\n", Error: "ErrArmor"})
	add(textVector{Name: "unknown single-line label", Reader: "sniff", Input: "seatkey-widget:AQ", Error: "ErrArmor"})
	return vs
}

func TestTextVectors(t *testing.T) {
	if *update {
		b, _ := json.MarshalIndent(generateTextVectors(t), "", "  ")
		if err := os.WriteFile(textVectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(textVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs textVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs.Vectors) < 24 {
		t.Fatalf("only %d text vectors", len(vs.Vectors))
	}
	for _, v := range vs.Vectors {
		got, err := readText(t, v)
		if v.Error == "" {
			if err != nil || got != v.Result {
				t.Errorf("%s: got %q, %v; want %q", v.Name, got, err, v.Result)
			}
			continue
		}
		want, ok := textErrors[v.Error]
		if !ok {
			t.Fatalf("%s: unknown error name %s", v.Name, v.Error)
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %s", v.Name, err, v.Error)
		} else if testing.Verbose() {
			t.Logf("%s: %v", v.Name, err)
		}
	}
}
