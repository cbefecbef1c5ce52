package activation

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/seatkey/seatkey/license"
)

// TestInspect reads the activation vectors without a key: a valid token
// yields its claims and size, while a license handed in its place, or a
// truncated token, is refused with an error a caller can test.
func TestInspect(t *testing.T) {
	var v struct {
		License string `json:"license"`
		Valid   []struct {
			Name  string `json:"name"`
			Token string `json:"token"`
		} `json:"valid"`
	}
	b, err := os.ReadFile("../testdata/vectors/activation.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	tok, _ := hex.DecodeString(v.Valid[0].Token)
	c, kid, size, err := Inspect(tok)
	if err != nil {
		t.Fatalf("%s: %v", v.Valid[0].Name, err)
	}
	if size != len(tok) || c.Fingerprint == nil || kid == (license.KeyID{}) {
		t.Errorf("Inspect = size %d (want %d), fingerprint %v, kid %v", size, len(tok), c.Fingerprint, kid)
	}
	if _, _, _, err := Inspect(license.Armor(license.TypeActivation, tok)); err != nil {
		t.Errorf("text form: %v", err)
	}

	lic, _ := hex.DecodeString(v.License)
	if _, _, _, err := Inspect(lic); !errors.Is(err, license.ErrWrongType) {
		t.Errorf("license as activation: err = %v, want ErrWrongType", err)
	}
	if _, _, _, err := Inspect(tok[:len(tok)/2]); err == nil {
		t.Error("truncated token accepted")
	}
}
