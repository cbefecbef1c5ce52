// Package verifier decides, offline, whether a seatkey license may be used:
// it needs only the vendor's public keys, the token and the current time, and
// optionally the running version, an activation and this machine's
// fingerprint, a revocation list, and a state file that remembers what the
// machine has seen (the latest time, the highest list, keys revoked for
// compromise) so that a clock set back or a list rolled back is refused.
//
//	keys, _ := verifier.ParseKeyring(pubFile)
//	state, _ := verifier.DefaultStatePath("Acme Software", "ledger")
//	lic, err := verifier.Verify(token, verifier.Options{Keys: keys, Product: "ledger", State: state})
//
// Checks run in the order SPEC.md section 7 lists, and every refusal is an
// error that matches one of the Err values with errors.Is.
package verifier

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/license"
)

// Refusals. Format errors (license.ErrMalformed and friends) can come first.
var (
	ErrNoKeys        = errors.New("no trusted public keys given")
	ErrNoProduct     = errors.New("no product given to check the license against")
	ErrUnknownKey    = errors.New("token signed by a key that is not trusted")
	ErrSignature     = errors.New("signature is not valid")
	ErrWrongProduct  = errors.New("license is for another product")
	ErrClockRollback = errors.New("system clock was set back")
	ErrNotYetValid   = errors.New("license is not valid yet")
	ErrExpired       = errors.New("license has expired")
	ErrVersion       = errors.New("this version is not covered by the license")
	ErrFeature       = errors.New("feature not licensed")
	ErrBadVersion    = errors.New("malformed version")
)

// License is a verified license.
type License struct {
	license.Claims
	KeyID    license.KeyID `json:"kid"`
	Legacy   bool          `json:"legacy,omitempty"`   // the running major is two or more behind LatestMajor
	Warnings []string      `json:"warnings,omitempty"` // such as a stale revocation list
}

// Verify checks token (binary, armored or single-line) and returns the license
// it grants, or an error saying why it is refused. The order of the checks,
// and which error each gives, is SPEC.md section 7.
func Verify(token []byte, o Options) (*License, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	c, kid, err := openLicense(token, o.Keys)
	if err != nil {
		return nil, err
	}
	s, err := begin(&o, c.ID, nil, 0)
	if err != nil {
		return nil, err
	}
	return s.finish(c, kid)
}

// openLicense is section 7 steps 1 to 11: the token and its claims.
func openLicense(token []byte, keys *Keyring) (license.Claims, license.KeyID, error) {
	m, kid, err := openToken(token, license.TypeLicense, license.MaxTokenSize, keys)
	if err != nil {
		return license.Claims{}, kid, err
	}
	c, err := license.ParseClaims(m.Payload)
	return c, kid, err
}

// session is one verification after its tokens have been opened: the time,
// the state file as merged, and warnings so far.
type session struct {
	o        *Options
	now      time.Time
	st       *state // nil without a state file
	warnings []string
}

// begin runs the state step (S1 to S8) and the list policy (L1 to L3) of
// section 7. device is the activation's device (nil for a license alone),
// maxListDays the activation's maximum list age in days (0: none).
func begin(o *Options, lic license.ID, device *[16]byte, maxListDays uint) (*session, error) {
	s := &session{o: o, now: o.now()}
	hadList := false
	if o.State != "" {
		var err error
		if s.st, hadList, err = observe(o, s.now, lic, device); err != nil {
			return nil, err
		}
	}
	rl := o.Revocations
	if rl == nil {
		switch {
		case maxListDays > 0:
			return nil, fmt.Errorf("%w: the activation asks for a list no older than %d days", ErrRevocationListRequired, maxListDays)
		case (o.RequireRevocationList || o.MaxRevocationListAge > 0) && (o.State == "" || hadList):
			return nil, fmt.Errorf("%w: this machine has seen one before, and the application asks for one every time", ErrRevocationListRequired)
		}
		return s, nil
	}
	age := s.now.Sub(rl.IssuedAt)
	if o.MaxRevocationListAge > 0 && age > o.MaxRevocationListAge {
		return nil, fmt.Errorf("%w: list %d was issued %s, more than %v ago", ErrRevocationListTooOld, rl.Sequence, rl.IssuedAt.Format(time.RFC3339), o.MaxRevocationListAge)
	}
	if maxListDays > 0 && age > time.Duration(maxListDays)*24*time.Hour {
		return nil, fmt.Errorf("%w: list %d was issued %s; the activation allows %d days", ErrRevocationListTooOld, rl.Sequence, rl.IssuedAt.Format(time.RFC3339), maxListDays)
	}
	if s.now.After(rl.NextUpdate) {
		if o.RefuseStale {
			return nil, fmt.Errorf("%w: due %s", ErrStaleRevocationList, rl.NextUpdate.Format(time.RFC3339))
		}
		s.warnings = append(s.warnings, fmt.Sprintf("revocation list %d is stale: its next update was due %s", rl.Sequence, rl.NextUpdate.Format(time.RFC3339)))
	}
	return s, nil
}

// finish is section 7 steps 12 to 20 for an opened license.
func (s *session) finish(c license.Claims, kid license.KeyID) (*License, error) {
	o := s.o
	if err := checkKey(o.Keys, o.Revocations, s.st, kid, c.IssuedAt); err != nil {
		return nil, err
	}
	if o.Revocations != nil {
		if e, ok := o.Revocations.License(c.ID); ok {
			return nil, &RevokedError{What: "license", ID: c.ID.String(), Reason: e.Reason, At: e.At}
		}
	}
	if !o.AnyProduct && c.Product != o.Product {
		return nil, fmt.Errorf("%w: licensed for %q, running %q", ErrWrongProduct, c.Product, o.Product)
	}
	now, skew := s.now, o.skew()
	if now.Add(skew).Before(c.NotBefore) || now.Add(skew).Before(c.IssuedAt) {
		return nil, fmt.Errorf("%w: valid from %s, now %s", ErrNotYetValid, c.NotBefore.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !c.Expires.IsZero() && !now.Add(-skew).Before(c.Expires) {
		return nil, fmt.Errorf("%w: on %s", ErrExpired, c.Expires.Format(time.RFC3339))
	}
	lic := &License{Claims: c, KeyID: kid, Warnings: s.warnings}
	if o.Version != "" {
		v, err := ParseVersion(o.Version)
		if err != nil {
			return nil, err
		}
		if err := entitled(c, v, o.ReleaseDate); err != nil {
			return nil, err
		}
		lic.Legacy = o.LatestMajor > 0 && o.LatestMajor-v.Major >= 2
	}
	for _, f := range o.Features {
		if !c.Has(f) {
			return nil, fmt.Errorf("%w: %q (licensed: %v)", ErrFeature, f, c.Features)
		}
	}
	return lic, nil
}

// openToken is the one path every token takes before its payload is read:
// text form, size, the COSE_Sign1 profile, the type, a trusted key ID and a
// valid signature, in that order (SPEC.md section 7, steps 1 to 10).
func openToken(token []byte, typ string, maxSize int, keys *Keyring) (*cose.Message, license.KeyID, error) {
	var kid license.KeyID
	raw, err := license.Decode(typ, token)
	if err != nil {
		return nil, kid, err
	}
	m, err := cose.Parse(raw, maxSize)
	if err != nil {
		return nil, kid, err
	}
	if m.Type != typ {
		return nil, kid, fmt.Errorf("%w: %q, want %q", license.ErrWrongType, m.Type, typ)
	}
	copy(kid[:], m.KID)
	pub, ok := keys.lookup(kid)
	if !ok {
		return nil, kid, fmt.Errorf("%w: %s", ErrUnknownKey, kid)
	}
	if !m.Verify(pub) {
		return nil, kid, ErrSignature
	}
	return m, kid, nil
}

// Version is a product version major.minor.patch.
type Version struct{ Major, Minor, Patch int }

// ParseVersion parses "X", "X.Y" or "X.Y.Z" with an optional "v" prefix.
func ParseVersion(s string) (Version, error) {
	var parts [3]int
	t := s
	if len(t) > 0 && t[0] == 'v' {
		t = t[1:]
	}
	n := 0
	for i := 0; ; i++ {
		if n == 3 {
			return Version{}, fmt.Errorf("%w: %q", ErrBadVersion, s)
		}
		j := i
		for j < len(t) && t[j] >= '0' && t[j] <= '9' && j-i < 9 {
			parts[n] = parts[n]*10 + int(t[j]-'0')
			j++
		}
		if j == i || (j-i > 1 && t[i] == '0') {
			return Version{}, fmt.Errorf("%w: %q", ErrBadVersion, s)
		}
		n++
		if j == len(t) {
			break
		}
		if t[j] != '.' {
			return Version{}, fmt.Errorf("%w: %q", ErrBadVersion, s)
		}
		i = j
	}
	return Version{parts[0], parts[1], parts[2]}, nil
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// entitled applies SPEC.md's version rule: every release of the licensed major
// (and older ones) is covered; a newer major, or any release when no major is
// licensed but upgrade protection is set, only if it was released while
// upgrade protection lasted.
func entitled(c license.Claims, v Version, released time.Time) error {
	if c.Major == 0 && c.UpgradesUntil.IsZero() {
		return nil
	}
	if c.Major != 0 && v.Major <= c.Major {
		return nil
	}
	if c.UpgradesUntil.IsZero() {
		return fmt.Errorf("%w: %s is a newer major than the licensed %d and the license has no upgrade protection", ErrVersion, v, c.Major)
	}
	if released.IsZero() {
		return fmt.Errorf("%w: %s needs a release date to check against upgrade protection (until %s)", ErrVersion, v, c.UpgradesUntil.Format(time.DateOnly))
	}
	if released.After(c.UpgradesUntil) {
		return fmt.Errorf("%w: %s was released %s, after upgrade protection ended %s", ErrVersion, v, released.UTC().Format(time.DateOnly), c.UpgradesUntil.Format(time.RFC3339))
	}
	return nil
}

// Keyring is a set of trusted vendor public keys, chosen by key ID.
type Keyring struct {
	keys    map[license.KeyID]license.PublicKey
	retired map[license.KeyID]time.Time
}

// NewKeyring returns a keyring trusting keys.
func NewKeyring(keys ...license.PublicKey) *Keyring {
	kr := &Keyring{keys: make(map[license.KeyID]license.PublicKey)}
	for _, k := range keys {
		kr.Add(k)
	}
	return kr
}

// ParseKeyring reads public key files (either text form) into a keyring.
func ParseKeyring(files ...[]byte) (*Keyring, error) {
	kr := NewKeyring()
	for _, f := range files {
		k, err := license.ParsePublicKey(f)
		if err != nil {
			return nil, err
		}
		kr.Add(k)
	}
	return kr, nil
}

// Add trusts k.
func (kr *Keyring) Add(k license.PublicKey) { kr.keys[k.ID()] = k }

// Len is the number of trusted keys.
func (kr *Keyring) Len() int { return len(kr.keys) }

// IDs lists the trusted key IDs in order.
func (kr *Keyring) IDs() []license.KeyID {
	ids := make([]license.KeyID, 0, len(kr.keys))
	for id := range kr.keys {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b license.KeyID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

func (kr *Keyring) lookup(id license.KeyID) ([]byte, bool) {
	k, ok := kr.keys[id]
	return k.Key, ok
}
