package license

import (
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/seatkey/seatkey/internal/cborx"
)

// Kind is the license model.
type Kind uint8

const (
	// Subscription: valid until it expires; always has an expiry.
	Subscription Kind = 1
	// Perpetual: never expires; upgrade protection (support) ends at UpgradesUntil.
	Perpetual Kind = 2
	// PerDeployment: each activation consumes one of Seats deployments for good.
	PerDeployment Kind = 3
)

var kindNames = map[Kind]string{Subscription: "subscription", Perpetual: "perpetual", PerDeployment: "per-deployment"}

func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind parses "subscription", "perpetual" or "per-deployment".
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown license kind %q (want subscription, perpetual or per-deployment)", ErrInvalidClaims, s)
}

func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Claims is what a license says. Zero times mean "absent" as noted per field.
type Claims struct {
	ID            ID        `json:"id"`                      // cti
	Vendor        string    `json:"vendor"`                  // iss
	Customer      string    `json:"customer"`                // sub
	Product       string    `json:"product"`                 // aud
	IssuedAt      time.Time `json:"issued_at"`               // iat
	NotBefore     time.Time `json:"not_before"`              // nbf; zero means IssuedAt
	Expires       time.Time `json:"expires,omitzero"`        // exp; zero means never
	Edition       string    `json:"edition"`                 //
	Features      []string  `json:"features"`                // sorted, unique
	Seats         int       `json:"seats"`                   // machines (or deployments) allowed
	Failover      int       `json:"failover"`                // extra failover installations allowed
	Kind          Kind      `json:"kind"`                    //
	UpgradesUntil time.Time `json:"upgrades_until,omitzero"` // end of upgrade protection; zero means none (on the wire, absent means Expires)
	Major         int       `json:"major,omitempty"`         // licensed major version; 0 means any
	Revision      int       `json:"revision,omitempty"`      // times re-issued (renewal, upgrade); 0 for the first issue
}

// Limits on claim values, so that a token stays small and decoding stays cheap.
const (
	MaxTextLen    = 256
	MaxFeatureLen = 64
	MaxFeatures   = 256
	maxTime       = 253402300799 // 9999-12-31T23:59:59Z
	// MaxCount bounds seats, failover and major: 2^31-1, so that every
	// value fits an int on 32-bit platforms too.
	MaxCount = math.MaxInt32
)

// ClaimSeatkey is the private CWT claim key holding seatkey's own claims.
const ClaimSeatkey = -65537

type wireClaims struct {
	Iss string      `cbor:"1,keyasint"`
	Sub string      `cbor:"2,keyasint"`
	Aud string      `cbor:"3,keyasint"`
	Exp uint64      `cbor:"4,keyasint,omitempty"`
	Nbf uint64      `cbor:"5,keyasint,omitempty"`
	Iat uint64      `cbor:"6,keyasint"`
	Cti []byte      `cbor:"7,keyasint"`
	SK  wireSeatkey `cbor:"-65537,keyasint"`
}

type wireSeatkey struct {
	Edition       string   `cbor:"1,keyasint"`
	Features      []string `cbor:"2,keyasint,omitempty"`
	Seats         uint64   `cbor:"3,keyasint"`
	Failover      uint64   `cbor:"4,keyasint,omitempty"`
	Kind          uint64   `cbor:"5,keyasint"`
	UpgradesUntil uint64   `cbor:"6,keyasint,omitempty"`
	Major         uint64   `cbor:"7,keyasint,omitempty"`
	Revision      uint64   `cbor:"8,keyasint,omitempty"`
}

func unix(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.Unix())
}

func fromUnix(s uint64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

// Marshal validates c and returns its deterministic CBOR encoding: the payload
// of a license token. Times are truncated to whole seconds.
func (c Claims) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := wireClaims{
		Iss: c.Vendor, Sub: c.Customer, Aud: c.Product,
		Exp: unix(c.Expires), Iat: unix(c.IssuedAt), Cti: c.ID[:],
		SK: wireSeatkey{
			Edition: c.Edition, Features: c.Features, Seats: uint64(c.Seats), Failover: uint64(c.Failover),
			Kind: uint64(c.Kind), UpgradesUntil: unix(c.UpgradesUntil), Major: uint64(c.Major),
			Revision: uint64(c.Revision),
		},
	}
	if !c.Expires.IsZero() && c.UpgradesUntil.Unix() == c.Expires.Unix() {
		w.SK.UpgradesUntil = 0 // absent means "until exp"
	}
	if !c.NotBefore.IsZero() && c.NotBefore.Unix() != c.IssuedAt.Unix() {
		w.Nbf = unix(c.NotBefore)
	}
	return cborx.Marshal(w)
}

// claimKeys are the keys license-claims defines (SPEC.md section 4).
var claimKeys = &cborx.Keys{
	Defined: []int64{1, 2, 3, 4, 5, 6, 7, ClaimSeatkey},
	Nested:  map[int64]*cborx.Keys{ClaimSeatkey: {Defined: []int64{1, 2, 3, 4, 5, 6, 7, 8}}},
}

// ParseClaims strictly decodes a license payload and checks its rules.
// Any claim this version does not define is refused with ErrUnknownClaim:
// ignoring a claim could silently widen what the license allows.
//
// The checks run in the order SPEC.md section 4 gives, so that a payload with
// several flaws gets the error of the first: CBOR rules (section 2), unknown
// keys, value types, values written out that must be omitted, then bounds and
// rules.
func ParseClaims(b []byte) (Claims, error) {
	c, err := parseClaims(b)
	if err != nil {
		return Claims{}, fmt.Errorf("license: %w", err)
	}
	return c, nil
}

func parseClaims(b []byte) (Claims, error) {
	if err := cborx.Check(b); err != nil {
		return Claims{}, fmt.Errorf("claims: %w", err)
	}
	if k, found := cborx.UnknownKey(b, claimKeys); found {
		return Claims{}, fmt.Errorf("%w: claim key %s", ErrUnknownClaim, k)
	}
	var w wireClaims
	if err := cborx.DecMode.Unmarshal(b, &w); err != nil {
		return Claims{}, fmt.Errorf("claims: %w: a value of the wrong type: %v", ErrMalformed, err)
	}
	if k, missing := cborx.Missing(b, []int64{1, 2, 3, 6, 7, ClaimSeatkey}, map[int64][]int64{ClaimSeatkey: {1, 3, 5}}); missing {
		return Claims{}, fmt.Errorf("%w: required claim %s is missing", ErrInvalidClaims, k)
	}
	if err := cborx.Canonical(b, &w); err != nil {
		return Claims{}, fmt.Errorf("claims: %w", err)
	}
	if w.Nbf != 0 && w.Nbf == w.Iat {
		return Claims{}, fmt.Errorf("claims: %w: nbf equal to iat must be omitted", ErrNonCanonical)
	}
	if w.Exp != 0 && w.SK.UpgradesUntil == w.Exp {
		return Claims{}, fmt.Errorf("claims: %w: upgrades-until equal to exp must be omitted", ErrNonCanonical)
	}
	if len(w.Cti) != len(ID{}) {
		return Claims{}, fmt.Errorf("%w: license ID (cti) must be %d bytes", ErrInvalidClaims, len(ID{}))
	}
	for _, t := range []uint64{w.Exp, w.Nbf, w.Iat, w.SK.UpgradesUntil} {
		if t > maxTime {
			return Claims{}, fmt.Errorf("%w: time after 9999-12-31T23:59:59Z", ErrInvalidClaims)
		}
	}
	if w.SK.Seats > MaxCount || w.SK.Failover > MaxCount || w.SK.Major > MaxCount {
		return Claims{}, fmt.Errorf("%w: seats, failover and major must be at most %d", ErrInvalidClaims, MaxCount)
	}
	if w.SK.Kind > 255 {
		return Claims{}, fmt.Errorf("%w: unknown license kind %d", ErrInvalidClaims, w.SK.Kind)
	}
	c := Claims{
		Vendor: w.Iss, Customer: w.Sub, Product: w.Aud,
		IssuedAt: fromUnix(w.Iat), NotBefore: fromUnix(w.Nbf), Expires: fromUnix(w.Exp),
		Edition: w.SK.Edition, Features: w.SK.Features, Seats: int(w.SK.Seats), Failover: int(w.SK.Failover),
		Kind: Kind(w.SK.Kind), UpgradesUntil: fromUnix(w.SK.UpgradesUntil), Major: int(w.SK.Major),
		Revision: int(w.SK.Revision),
	}
	copy(c.ID[:], w.Cti)
	if c.NotBefore.IsZero() {
		c.NotBefore = c.IssuedAt
	}
	if w.SK.UpgradesUntil == 0 {
		c.UpgradesUntil = c.Expires
	}
	if err := c.Validate(); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// Validate checks the rules SPEC.md sets for claims, independent of any time.
func (c Claims) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidClaims}, a...)...)
	}
	for _, f := range []struct{ name, v string }{{"vendor (iss)", c.Vendor}, {"customer (sub)", c.Customer}, {"product (aud)", c.Product}, {"edition", c.Edition}} {
		if f.v == "" || len(f.v) > MaxTextLen || !utf8.ValidString(f.v) {
			return bad("%s must be 1 to %d bytes of UTF-8", f.name, MaxTextLen)
		}
	}
	if c.ID == (ID{}) {
		return bad("license ID is all zero (reserved)")
	}
	if c.IssuedAt.IsZero() || c.IssuedAt.Unix() <= 0 {
		return bad("issue time (iat) is required")
	}
	for _, t := range []time.Time{c.IssuedAt, c.NotBefore, c.Expires, c.UpgradesUntil} {
		if !t.IsZero() && (t.Unix() <= 0 || t.Unix() > maxTime) {
			return bad("time %v out of range", t)
		}
	}
	nbf := c.NotBefore
	if nbf.IsZero() {
		nbf = c.IssuedAt
	}
	if !c.Expires.IsZero() && !c.Expires.After(nbf) {
		return bad("expiry must be after the start of validity")
	}
	if c.Seats < 1 || int64(c.Seats) > MaxCount {
		return bad("seats must be 1 to %d", MaxCount)
	}
	if c.Failover < 0 || int64(c.Failover) > MaxCount || c.Major < 0 || int64(c.Major) > MaxCount || c.Revision < 0 || int64(c.Revision) > MaxCount {
		return bad("failover, major and revision must be 0 to %d", MaxCount)
	}
	switch c.Kind {
	case Subscription:
		if c.Expires.IsZero() {
			return bad("a subscription must expire")
		}
	case Perpetual:
		if !c.Expires.IsZero() {
			return bad("a perpetual license must not expire")
		}
		if c.UpgradesUntil.IsZero() {
			return bad("a perpetual license needs an upgrade-protection end date")
		}
	case PerDeployment:
	default:
		return bad("missing or unknown license kind %d", c.Kind)
	}
	if len(c.Features) > MaxFeatures {
		return bad("more than %d features", MaxFeatures)
	}
	for i, f := range c.Features {
		if f == "" || len(f) > MaxFeatureLen || !utf8.ValidString(f) {
			return bad("feature names must be 1 to %d bytes of UTF-8", MaxFeatureLen)
		}
		if i > 0 && c.Features[i-1] >= f {
			return bad("features must be sorted and unique")
		}
	}
	return nil
}

// Has reports whether the license includes feature f.
func (c Claims) Has(f string) bool {
	_, ok := slices.BinarySearch(c.Features, f)
	return ok
}

// NormalizeFeatures returns features sorted with duplicates removed, as Claims requires.
func NormalizeFeatures(fs []string) []string {
	out := slices.Clone(fs)
	slices.Sort(out)
	return slices.Compact(out)
}

func (k *Kind) UnmarshalText(b []byte) error {
	v, err := ParseKind(string(b))
	*k = v
	return err
}
