package license_test

// Independent oracles for the committed vectors. The vectors are rewritten
// by -update from the code under test, so a change of encoding could pass by
// regenerating its own vectors; these tests read the bytes with generic CBOR
// decoding (no seatkey decoder) and compare them with the values SPEC.md
// states in words.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

type oracleVectors struct {
	PublicKey string `json:"public_key"`
	Valid     []struct {
		Name  string `json:"name"`
		Token string `json:"token"`
	} `json:"valid"`
}

// openSign1 takes a COSE_Sign1 token apart by hand: tag 18 around a
// four-element array. It returns the decoded protected header, the raw
// protected bytes, the unprotected map, the payload and the signature.
func openSign1(t *testing.T, tok []byte) (protected map[any]any, rawProtected []byte, unprotected map[any]any, payload, sig []byte) {
	t.Helper()
	var tag cbor.RawTag
	if err := cbor.Unmarshal(tok, &tag); err != nil {
		t.Fatalf("token is not a tagged CBOR item: %v", err)
	}
	if tag.Number != 18 {
		t.Fatalf("tag %d, SPEC section 3 says 18", tag.Number)
	}
	var parts []cbor.RawMessage
	if err := cbor.Unmarshal(tag.Content, &parts); err != nil || len(parts) != 4 {
		t.Fatalf("COSE_Sign1 must be a 4-element array: %v (%d)", err, len(parts))
	}
	for i, dst := range []any{&rawProtected, &unprotected, &payload, &sig} {
		if err := cbor.Unmarshal(parts[i], dst); err != nil {
			t.Fatalf("COSE_Sign1 element %d: %v", i, err)
		}
	}
	if err := cbor.Unmarshal(rawProtected, &protected); err != nil {
		t.Fatalf("protected header: %v", err)
	}
	return
}

func loadOracleVectors(t *testing.T) oracleVectors {
	t.Helper()
	b, err := os.ReadFile("../testdata/vectors/license.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs oracleVectors
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	return vs
}

func unixOf(s string) uint64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return uint64(t.Unix())
}

// TestTypicalVectorIndependently decodes the typical license vector with a
// second, generic decoder and checks every header, claim and seatkey claim
// against SPEC.md sections 3, 4, 5 and 8, and the signature with
// crypto/ed25519 over a Sig_structure built by hand.
func TestTypicalVectorIndependently(t *testing.T) {
	vs := loadOracleVectors(t)
	if len(vs.Valid) == 0 || vs.Valid[0].Name != "typical subscription" {
		t.Fatal("the first valid vector is not the typical license")
	}
	tok, err := hex.DecodeString(vs.Valid[0].Token)
	if err != nil {
		t.Fatal(err)
	}
	// Section 8: the public key of the seed 00..1f.
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if hex.EncodeToString(pub) != "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8" || vs.PublicKey != hex.EncodeToString(pub) {
		t.Fatalf("public key %x (vectors say %s)", pub, vs.PublicKey)
	}
	// Section 5: the key ID.
	h := sha256.Sum256(append([]byte("seatkey key id\x00"), pub...))
	kid := h[:8]

	protected, rawProtected, unprotected, payload, sig := openSign1(t, tok)
	wantHeader := map[any]any{uint64(1): int64(-8), uint64(4): kid, uint64(16): "application/seatkey-license"}
	if !reflect.DeepEqual(protected, wantHeader) {
		t.Fatalf("protected header %#v, want %#v", protected, wantHeader)
	}
	if len(unprotected) != 0 {
		t.Fatalf("unprotected header must be empty: %v", unprotected)
	}
	sigStructure, err := cbor.Marshal([]any{"Signature1", rawProtected, []byte{}, payload})
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(pub, sigStructure, sig) {
		t.Fatal("signature does not verify over the Sig_structure of RFC 9052")
	}

	var claims map[any]any
	if err := cbor.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	for i := range id {
		id[i] = byte(i)
	}
	want := map[any]any{
		uint64(1): "Acme Software",
		uint64(2): "Globex Corp",
		uint64(3): "ledgerpro",
		uint64(4): unixOf("2027-01-15T00:00:00Z"),
		// 5 (nbf) omitted: equal to iat.
		uint64(6): unixOf("2026-01-15T00:00:00Z"),
		uint64(7): id,
		int64(-65537): map[any]any{
			uint64(1): "enterprise",
			uint64(2): []any{"api", "reports", "sso"},
			uint64(3): uint64(25),
			uint64(4): uint64(2),
			uint64(5): uint64(1), // subscription
			// 6 (upgrades until) omitted: equal to exp.
			uint64(7): uint64(4),
		},
	}
	if !reflect.DeepEqual(claims, want) {
		t.Fatalf("claims map\n got %#v\nwant %#v", claims, want)
	}
	// Deterministic encoding (section 2): re-encoding the generic value with
	// RFC 8949 core deterministic rules gives the same bytes.
	em, _ := cbor.CoreDetEncOptions().EncMode()
	again, err := em.Marshal(claims)
	if err != nil || !bytes.Equal(again, payload) {
		t.Fatalf("payload is not in core deterministic encoding: %v\n%x\n%x", err, payload, again)
	}
}

// TestRevocationVectorLayout reads the entries of the valid revocation list
// vector by hand, as SPEC.md section 11.1 lays them out: ID || 4-byte
// big-endian at || 1-byte reason, sorted by ID.
func TestRevocationVectorLayout(t *testing.T) {
	b, err := os.ReadFile("../testdata/vectors/revocation.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs struct {
		Valid struct {
			Token    string `json:"token"`
			Sequence uint64 `json:"sequence"`
		} `json:"valid"`
	}
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	tok, _ := hex.DecodeString(vs.Valid.Token)
	protected, _, _, payload, _ := openSign1(t, tok)
	if protected[uint64(16)] != "application/seatkey-revocation" {
		t.Fatalf("type %v", protected[uint64(16)])
	}
	var claims map[any]any
	if err := cbor.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	sk, ok := claims[int64(-65537)].(map[any]any)
	if !ok || claims[uint64(1)] != "Acme Software" || len(claims) != 3 {
		t.Fatalf("list claims %#v", claims)
	}
	if len(sk) != 5 {
		t.Fatalf("seatkey claims of the list: want sequence, next update and three entry lists, got %#v", sk)
	}
	if sk[uint64(1)] != uint64(7) || vs.Valid.Sequence != 7 { // section 11.4: sequence 7
		t.Fatalf("sequence %v", sk[uint64(1)])
	}
	at := unixOf("2026-05-01T00:00:00Z")
	typical := make([]byte, 16)
	for i := range typical {
		typical[i] = byte(i)
	}
	type entry struct {
		id     []byte
		at     uint32
		reason byte
	}
	read := func(field uint64, idSize int) []entry {
		raw, ok := sk[field].([]byte)
		if !ok {
			t.Fatalf("field %d is not a byte string: %T", field, sk[field])
		}
		size := idSize + 4 + 1
		if len(raw)%size != 0 {
			t.Fatalf("field %d: %d bytes is not a whole number of %d-byte entries", field, len(raw), size)
		}
		var es []entry
		for off := 0; off < len(raw); off += size {
			e := raw[off : off+size]
			es = append(es, entry{id: e[:idSize], at: binary.BigEndian.Uint32(e[idSize : idSize+4]), reason: e[idSize+4]})
			if len(es) > 1 && bytes.Compare(es[len(es)-2].id, es[len(es)-1].id) >= 0 {
				t.Fatalf("field %d: entries not sorted and unique", field)
			}
		}
		return es
	}
	// Section 11.4: the typical license refunded (2), an activation for
	// abuse (3), a key retired (6).
	lics, acts, keys := read(3, 16), read(4, 16), read(5, 8)
	if len(lics) != 1 || !bytes.Equal(lics[0].id, typical) || uint64(lics[0].at) != at || lics[0].reason != 2 {
		t.Fatalf("licenses: %+v", lics)
	}
	if len(acts) != 1 || uint64(acts[0].at) != at || acts[0].reason != 3 {
		t.Fatalf("activations: %+v", acts)
	}
	if len(keys) != 1 || uint64(keys[0].at) != at || keys[0].reason != 6 {
		t.Fatalf("keys: %+v", keys)
	}
}
