package issuer

import (
	"fmt"
	"time"

	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/license"
)

// Mint signs c as a license token in binary form. A zero ID gets a random one
// and a zero IssuedAt gets the current time; features are sorted and made unique.
func (k *Key) Mint(c license.Claims) ([]byte, error) {
	if c.ID == (license.ID{}) {
		c.ID = license.NewID()
	}
	if c.IssuedAt.IsZero() {
		c.IssuedAt = time.Now()
	}
	c.Features = license.NormalizeFeatures(c.Features)
	payload, err := c.Marshal()
	if err != nil {
		return nil, fmt.Errorf("mint: %w", err)
	}
	return k.Sign(license.TypeLicense, payload)
}

// Sign wraps a payload of the given token type in the seatkey COSE_Sign1 profile.
func (k *Key) Sign(typ string, payload []byte) ([]byte, error) {
	id := k.ID()
	return cose.Sign(k.priv, id[:], typ, payload)
}
