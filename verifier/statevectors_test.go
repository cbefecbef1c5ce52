package verifier_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

const stateVectorFile = "../testdata/vectors/state.json"

// stateVectors are the vectors of SPEC.md sections 7.1 and 7.2.
type stateVectors struct {
	Comment string        `json:"comment"`
	States  []stateVector `json:"states"`
	Resets  []resetVector `json:"state_resets"`
}

type stateVector struct {
	Name        string   `json:"name"`
	Hex         string   `json:"hex"`
	Error       string   `json:"error,omitempty"`
	LastSeen    uint64   `json:"last_seen,omitempty"`
	Sequence    uint64   `json:"sequence,omitempty"`
	Signer      string   `json:"signer,omitempty"`
	Compromised []string `json:"compromised,omitempty"`
	ResetAt     uint64   `json:"reset_at,omitempty"`
	Rewritten   string   `json:"rewritten,omitempty"` // the form written back, when it differs
}

type resetVector struct {
	Name     string `json:"name"`
	Token    string `json:"token"`
	License  string `json:"license,omitempty"`
	Device   string `json:"device,omitempty"`
	LastSeen string `json:"last_seen,omitempty"`
	Error    string `json:"error,omitempty"` // verifying the typical license of section 8 with it
}

func generateStateVectors(t *testing.T) stateVectors {
	k, _ := issuer.NewKeyFromSeed(seq(32))
	o, _ := issuer.NewKeyFromSeed(make([]byte, 32))
	kid, oid := k.ID(), o.ID()
	t0 := uint64(date("2026-06-01T00:00:00Z").Unix())
	vs := stateVectors{Comment: "seatkey state files (SPEC.md 7.1) and state resets (7.2). States: decode 'hex'; a valid one holds the fields given and is written back as 'rewritten' (or as itself). Resets: signed with the section 8 key; verify the typical license of section 8 at its 'now' for product ledgerpro with a state file holding {1: now + 30 days} and the reset."}
	st := func(name string, v map[int]any, errName string) {
		b := mustCBOR(v)
		vs.States = append(vs.States, stateVector{Name: name, Hex: hex.EncodeToString(b), Error: errName})
	}
	keys := [][]byte{kid[:], oid[:]}
	slices.SortFunc(keys, bytes.Compare)
	st("time only", map[int]any{1: t0}, "")
	st("everything", map[int]any{1: t0, 2: 7, 3: kid[:], 4: keys, 5: t0 - 86400}, "")
	st("first version: sequences per vendor name", map[int]any{1: t0, 2: map[string]uint64{"Acme Software": 7, "acme": 9}}, "")
	st("no time", map[int]any{2: 7, 3: kid[:]}, "ErrState")
	st("sequence zero", map[int]any{1: t0, 2: 0}, "ErrState")
	st("signer without sequence", map[int]any{1: t0, 3: kid[:]}, "ErrState")
	st("signer of 7 bytes", map[int]any{1: t0, 2: 7, 3: kid[:7]}, "ErrState")
	st("compromised keys unsorted", map[int]any{1: t0, 4: [][]byte{keys[1], keys[0]}}, "ErrState")
	st("compromised keys repeated", map[int]any{1: t0, 4: [][]byte{keys[0], keys[0]}}, "ErrState")
	st("unknown key 6", map[int]any{1: t0, 6: 1}, "ErrState")
	st("first version, empty map", map[int]any{1: t0, 2: map[string]uint64{}}, "ErrState")
	vs.States = append(vs.States, stateVector{Name: "non-shortest time", Hex: "a1011a00000005", Error: "ErrState"})
	for i := range vs.States {
		v := &vs.States[i]
		if v.Error != "" {
			continue
		}
		b, _ := hex.DecodeString(v.Hex)
		var rw []byte
		var err error
		v.LastSeen, v.Sequence, v.Signer, v.Compromised, v.ResetAt, rw, err = verifier.StateForTest(b)
		if err != nil {
			t.Fatalf("%s: %v", v.Name, err)
		}
		if !bytes.Equal(rw, b) {
			v.Rewritten = hex.EncodeToString(rw)
		}
	}
	lic := typicalClaims().ID
	dev := [16]byte{0xde, 0x7}
	now := date("2026-06-01T00:00:00Z")
	sign := func(key *issuer.Key, typ string, r verifier.StateReset) string {
		p, err := r.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := key.Sign(typ, p)
		return hex.EncodeToString(tok)
	}
	r := verifier.StateReset{License: lic, LastSeen: now, IssuedAt: now}
	vs.Resets = append(vs.Resets, resetVector{Name: "for the license", Token: sign(k, verifier.TypeStateReset, r), License: lic.String(), LastSeen: now.Format(time.RFC3339)})
	rd := r
	rd.Device = dev
	vs.Resets = append(vs.Resets, resetVector{Name: "for one device: needs the activation", Token: sign(k, verifier.TypeStateReset, rd), License: lic.String(), Device: license.FormatID("dev", dev[:]), LastSeen: now.Format(time.RFC3339), Error: "ErrStateReset"})
	ro := r
	ro.License[0] ^= 0xff
	vs.Resets = append(vs.Resets, resetVector{Name: "for another license", Token: sign(k, verifier.TypeStateReset, ro), Error: "ErrStateReset"})
	vs.Resets = append(vs.Resets, resetVector{Name: "signed by an unknown key", Token: sign(o, verifier.TypeStateReset, r), Error: "ErrUnknownKey"})
	vs.Resets = append(vs.Resets, resetVector{Name: "license type", Token: sign(k, license.TypeLicense, r), Error: "ErrWrongType"})
	bad := mustCBOR(map[int]any{6: now.Unix(), license.ClaimSeatkey: map[int]any{1: lic[:], 3: now.Unix() + 1}})
	tok, _ := k.Sign(verifier.TypeStateReset, bad)
	vs.Resets = append(vs.Resets, resetVector{Name: "latest time after iat", Token: hex.EncodeToString(tok), Error: "ErrInvalidClaims"})
	return vs
}

func TestStateVectors(t *testing.T) {
	if *update {
		b, _ := json.MarshalIndent(generateStateVectors(t), "", "  ")
		if err := os.WriteFile(stateVectorFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(stateVectorFile)
	if err != nil {
		t.Fatal(err)
	}
	var vs stateVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	if gen, _ := json.Marshal(generateStateVectors(t)); !bytes.Equal(gen, mustJSON(vs)) {
		t.Fatal("the generator no longer reproduces the committed vectors")
	}
	for _, v := range vs.States {
		raw, _ := hex.DecodeString(v.Hex)
		last, sq, signer, comp, reset, rw, err := verifier.StateForTest(raw)
		if v.Error != "" {
			if !errors.Is(err, verifier.ErrState) {
				t.Errorf("%s: got %v, want ErrState", v.Name, err)
			}
			continue
		}
		want := v.Rewritten
		if want == "" {
			want = v.Hex
		}
		if err != nil || last != v.LastSeen || sq != v.Sequence || signer != v.Signer || !slices.Equal(comp, v.Compromised) || reset != v.ResetAt || hex.EncodeToString(rw) != want {
			t.Errorf("%s: %v %d %d %s %v %d %x", v.Name, err, last, sq, signer, comp, reset, rw)
		}
	}
	lv := loadVectors(t)
	pk, _ := license.ParsePublicKey([]byte(lv.PublicKeyFile))
	keys := verifier.NewKeyring(pk)
	lic, _ := hex.DecodeString(lv.Valid[0].Token)
	errs := map[string]error{"ErrStateReset": verifier.ErrStateReset, "ErrUnknownKey": verifier.ErrUnknownKey, "ErrWrongType": license.ErrWrongType, "ErrInvalidClaims": license.ErrInvalidClaims}
	for _, v := range vs.Resets {
		state := filepath.Join(tempDir(t), "state")
		os.WriteFile(state, mustCBOR(map[int]any{1: lv.Now.Add(30 * 24 * time.Hour).Unix()}), 0o600)
		tok, _ := hex.DecodeString(v.Token)
		o := verifier.Options{Keys: keys, Product: lv.Product, Now: lv.Now, State: state}
		if _, err := verifier.Verify(lic, o); !errors.Is(err, verifier.ErrClockRollback) {
			t.Fatalf("before the reset: %v", err)
		}
		o.StateReset = tok
		_, err := verifier.Verify(lic, o)
		if v.Error == "" {
			if err != nil {
				t.Errorf("%s: %v", v.Name, err)
			}
			continue
		}
		if !errors.Is(err, verifier.ErrStateReset) || !errors.Is(err, errs[v.Error]) {
			t.Errorf("%s: got %v, want %s", v.Name, err, v.Error)
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// FuzzState: a state file is accepted only in one encoding; what is accepted
// is written back in a form that reads the same (the first-version form
// being the one that is rewritten).
func FuzzState(f *testing.F) {
	vs := generateStateVectors(&testing.T{})
	for _, v := range vs.States {
		b, _ := hex.DecodeString(v.Hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		last, sq, signer, comp, reset, rw, err := verifier.StateForTest(b)
		if err != nil {
			if !errors.Is(err, verifier.ErrState) {
				t.Fatalf("not ErrState: %v", err)
			}
			return
		}
		l2, s2, sg2, c2, r2, rw2, err := verifier.StateForTest(rw)
		if err != nil || l2 != last || s2 != sq || sg2 != signer || !slices.Equal(c2, comp) || r2 != reset || !bytes.Equal(rw2, rw) {
			t.Fatalf("rewritten form reads differently: %v", err)
		}
	})
}

// FuzzStateReset: an accepted reset payload encodes back to the same bytes.
func FuzzStateReset(f *testing.F) {
	p, _ := verifier.StateReset{License: typicalClaims().ID, Device: [16]byte{1}, LastSeen: now, IssuedAt: now}.Marshal()
	f.Add(p)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := verifier.ParseStateReset(b)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted reset does not encode back: %v", err)
		}
	})
}

// testdata/vectors/test.pub is the public key of section 8, for examples.
func TestTestPubIsTheVectorKey(t *testing.T) {
	b, err := os.ReadFile("../testdata/vectors/test.pub")
	if err != nil {
		t.Fatal(err)
	}
	if lv := loadVectors(t); string(b) != lv.PublicKeyFile {
		t.Fatal("test.pub differs from the vectors' public key")
	}
}
