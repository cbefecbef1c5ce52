package issuer

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// decodeArmorByHand base64-decodes the body of an armored file without the
// armor package: the bytes a customer (or thief) gets from the file.
func decodeArmorByHand(t *testing.T, text []byte) []byte {
	t.Helper()
	var body strings.Builder
	for _, line := range strings.Split(string(text), "\n") {
		if strings.HasPrefix(line, "-----") || strings.TrimSpace(line) == "" {
			continue
		}
		body.WriteString(strings.TrimSpace(line))
	}
	b, err := base64.StdEncoding.DecodeString(body.String())
	if err != nil {
		t.Fatalf("armored key file body is not base64: %v", err)
	}
	return b
}

// An encrypted key file must not carry the seed in the clear: looked for in
// the decoded bytes (in the base64 text it could never be found). The
// unencrypted file, asked for explicitly, does carry it: that shows the
// search finds a seed when one is there.
func TestKeyFileSeedNotInTheClear(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	seed := k.priv.Seed()
	plain, err := k.Marshal(nil, fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(decodeArmorByHand(t, plain), seed) {
		t.Fatal("the unencrypted key file does not hold its seed: this test cannot see a seed")
	}
	enc, err := k.Marshal([]byte("correct horse"), fastKDF)
	if err != nil {
		t.Fatal(err)
	}
	raw := decodeArmorByHand(t, enc)
	if bytes.Contains(raw, seed) {
		t.Fatal("seed in the clear in the encrypted key file")
	}
	// Nor any 8-byte window of it (a seed stored split or shifted).
	for i := 0; i+8 <= len(seed); i++ {
		if bytes.Contains(raw, seed[i:i+8]) {
			t.Fatalf("bytes %d..%d of the seed in the clear in the encrypted key file", i, i+8)
		}
	}
}
