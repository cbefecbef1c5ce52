package fingerprint

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors for malformed profiles, fingerprints and policies.
var (
	ErrMalformed error = malformedError{}
	ErrScope           = errors.New("fingerprints were made for different scopes")
)

// Profile is what machine.Collect read: for each component its normalised raw values
// (one, or a set for disks and NICs). It holds raw serials: it stays on the
// machine. Notes say what could not be read and why.
type Profile struct {
	Values map[Component][]string
	Notes  []string
}

// Set records raw values for c after normalising them; absent values are dropped.
func (p *Profile) Set(c Component, raw ...string) {
	if p.Values == nil {
		p.Values = make(map[Component][]string)
	}
	var vs []string
	for _, r := range raw {
		if v := Normalize(c, r); v != "" {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	vs = slices.Compact(vs)
	if !c.IsSet() && len(vs) > 1 {
		vs = []string{strings.Join(vs, "; ")}
	}
	if len(vs) == 0 {
		delete(p.Values, c)
		return
	}
	p.Values[c] = vs
}

// profileJSON is the JSON form: {"components": {"cpu": ["..."], ...}, "notes": [...]}.
type profileJSON struct {
	Components map[string][]string `json:"components"`
	Notes      []string            `json:"notes,omitempty"`
}

// MarshalJSON writes the JSON form (raw values: keep it on the machine).
func (p *Profile) MarshalJSON() ([]byte, error) {
	j := profileJSON{Components: map[string][]string{}, Notes: p.Notes}
	for c, v := range p.Values {
		j.Components[c.String()] = v
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the JSON form strictly: unknown fields and components
// are errors, and values are normalised as Collect would.
func (p *Profile) UnmarshalJSON(b []byte) error {
	var j profileJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("%w: profile JSON: %v", ErrMalformed, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: profile JSON: trailing data", ErrMalformed)
	}
	*p = Profile{Notes: j.Notes}
	for name, vs := range j.Components {
		c, err := ParseComponent(name)
		if err != nil {
			return err
		}
		p.Set(c, vs...)
	}
	return nil
}

// Digest is a keyed digest of one component value.
type Digest [16]byte

// Fingerprint is a profile with every value replaced by a digest keyed by the
// scope (normally the product), so raw serials never leave the machine and two
// vendors or products cannot correlate one machine. Values are sorted.
type Fingerprint struct {
	Scope      string
	Components [maxComponent + 1][]Digest // index 0 unused
}

// scopeKey is the HMAC key for a scope.
func scopeKey(scope string) []byte {
	h := sha256.New()
	h.Write([]byte("seatkey fingerprint v1\x00"))
	h.Write([]byte(scope))
	return h.Sum(nil)
}

// Digest returns the fingerprint of p for scope.
func (p *Profile) Digest(scope string) *Fingerprint {
	f := &Fingerprint{Scope: scope}
	mac := hmac.New(sha256.New, scopeKey(scope))
	for c, vs := range p.Values {
		if !c.valid() {
			continue
		}
		ds := make([]Digest, 0, len(vs))
		for _, v := range vs {
			mac.Reset()
			mac.Write([]byte(c.String()))
			mac.Write([]byte{0})
			mac.Write([]byte(v))
			var d Digest
			copy(d[:], mac.Sum(nil))
			ds = append(ds, d)
		}
		slices.SortFunc(ds, func(a, b Digest) int { return bytes.Compare(a[:], b[:]) })
		f.Components[c] = slices.Compact(ds)
	}
	return f
}

// Has reports whether the fingerprint has a value for c.
func (f *Fingerprint) Has(c Component) bool { return c.valid() && len(f.Components[c]) > 0 }

// ParseProfileJSON reads the JSON form of a profile; every refusal matches ErrMalformed.
func ParseProfileJSON(b []byte) (*Profile, error) {
	var p Profile
	if err := p.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return &p, nil
}

// Hardware returns a copy without the software components, which never count
// in a match: what an activation token carries.
func (f *Fingerprint) Hardware() *Fingerprint {
	h := &Fingerprint{Scope: f.Scope}
	for c := Component(1); c <= maxComponent; c++ {
		if c.Class() != Software {
			h.Components[c] = f.Components[c]
		}
	}
	return h
}
