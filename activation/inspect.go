package activation

import (
	"fmt"

	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/license"
)

// Inspect decodes an activation token in any text form WITHOUT verifying
// its signature, as license.Inspect does for a license: for tools that show
// or act on an activation the issuer itself recorded, or the device holds.
// It returns the claims, the signing key's ID and the binary size.
func Inspect(b []byte) (c *Claims, kid license.KeyID, size int, err error) {
	raw, err := license.Decode(license.TypeActivation, b)
	if err != nil {
		return nil, kid, 0, err
	}
	m, err := cose.Parse(raw, license.MaxTokenSize)
	if err != nil {
		return nil, kid, 0, err
	}
	if m.Type != license.TypeActivation {
		return nil, kid, 0, fmt.Errorf("%w: %q, want %q", license.ErrWrongType, m.Type, license.TypeActivation)
	}
	if c, err = ParseClaims(m.Payload); err != nil {
		return nil, kid, 0, err
	}
	copy(kid[:], m.KID)
	return c, kid, len(raw), nil
}
