package fingerprint

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
)

// Wire form (SPEC.md):
//
//	fingerprint = { 1 => tstr, 2 => { + component => [+ bstr .size 16] } }
//
// digests sorted bytewise and unique; exactly one for a component that is not a set.
type wireFingerprint struct {
	Scope      string             `cbor:"1,keyasint"`
	Components map[uint8][][]byte `cbor:"2,keyasint"`
}

const (
	labelFingerprint = armor.Fingerprint
	maxSetSize       = 64
	maxScopeLen      = 256
)

// malformedError is ErrMalformed: its own value, so that errors.Is tells a bad
// fingerprint, policy or profile from other bad input, and still a
// license.ErrMalformed (the one CBOR error of every seatkey format).
type malformedError struct{}

func (malformedError) Error() string { return "malformed fingerprint, policy or profile" }
func (malformedError) Unwrap() error { return cborx.ErrMalformed }

// MarshalBinary returns the deterministic CBOR form.
func (f *Fingerprint) MarshalBinary() ([]byte, error) {
	w := wireFingerprint{Scope: f.Scope, Components: map[uint8][][]byte{}}
	for c := Component(1); c <= maxComponent; c++ {
		if len(f.Components[c]) == 0 {
			continue
		}
		ds := make([][]byte, len(f.Components[c]))
		for i := range f.Components[c] {
			ds[i] = f.Components[c][i][:]
		}
		w.Components[uint8(c)] = ds
	}
	return cborx.Marshal(w)
}

// Armor returns the armored text form.
func (f *Fingerprint) Armor() []byte {
	b, err := f.MarshalBinary()
	if err != nil {
		return nil
	}
	return armor.Encode(labelFingerprint, b)
}

// ParseFingerprint reads a fingerprint in binary or armored form, strictly.
func ParseFingerprint(b []byte) (*Fingerprint, error) {
	if armor.Is(b) {
		var err error
		if b, err = armor.Decode(labelFingerprint, b); err != nil {
			return nil, fmt.Errorf("fingerprint: %w", err)
		}
	} else if len(b) > armor.MaxSize {
		return nil, fmt.Errorf("fingerprint: %w: %d bytes", armor.ErrTooLarge, len(b))
	}
	var w wireFingerprint
	if err := cborx.Decode(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if k, missing := cborx.Missing(b, []int64{1, 2}, nil); missing {
		return nil, fmt.Errorf("%w: fingerprint field %s is missing", ErrMalformed, k)
	}
	if err := cborx.Canonical(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if w.Scope == "" || len(w.Scope) > maxScopeLen {
		return nil, fmt.Errorf("%w: fingerprint scope must be 1 to %d bytes", ErrMalformed, maxScopeLen)
	}
	if len(w.Components) == 0 {
		return nil, fmt.Errorf("%w: fingerprint has no components", ErrMalformed)
	}
	f := &Fingerprint{Scope: w.Scope}
	for k, ds := range w.Components {
		c := Component(k)
		if !c.valid() {
			return nil, fmt.Errorf("%w: unknown component %d", ErrMalformed, k)
		}
		if len(ds) == 0 || len(ds) > maxSetSize || (!c.IsSet() && len(ds) != 1) {
			return nil, fmt.Errorf("%w: %s has %d values", ErrMalformed, c, len(ds))
		}
		out := make([]Digest, len(ds))
		for i, d := range ds {
			if len(d) != len(Digest{}) {
				return nil, fmt.Errorf("%w: %s digest must be %d bytes", ErrMalformed, c, len(Digest{}))
			}
			if i > 0 && bytes.Compare(ds[i-1], d) >= 0 {
				return nil, fmt.Errorf("%w: %s digests not sorted and unique", ErrMalformed, c)
			}
			copy(out[i][:], d)
		}
		f.Components[c] = out
	}
	return f, nil
}

// ParsePolicy decodes a policy strictly, in the order of SPEC.md section 2
// so that a policy with several flaws always gets the same error: CBOR,
// unknown keys and value types, missing fields, components out of range (in
// ascending order), rules [0, false] written out and other omitted defaults
// (ErrNonCanonical), then the policy's rules (Validate). Every error matches
// ErrMalformed.
func ParsePolicy(b []byte) (*Policy, error) {
	var w wirePolicy
	if err := cborx.Decode(b, &w); err != nil {
		return nil, fmt.Errorf("%w: policy: %w", ErrMalformed, err)
	}
	if k, missing := cborx.Missing(b, []int64{1, 2, 3}, nil); missing {
		return nil, fmt.Errorf("%w: policy field %s is missing", ErrMalformed, k)
	}
	keys := slices.Sorted(maps.Keys(w.Rules))
	for _, k := range keys {
		if !Component(k).valid() {
			return nil, fmt.Errorf("%w: policy names unknown component %d", ErrMalformed, k)
		}
	}
	p := &Policy{Threshold: w.Threshold, MinEvidence: w.MinEvidence, Optional: w.Optional}
	for _, k := range keys {
		r := w.Rules[k]
		if r.Weight == 0 && !r.Decisive {
			return nil, fmt.Errorf("%w: policy: %w: the rule [0, false] of %s must be omitted", ErrMalformed, cborx.ErrNonCanonical, Component(k))
		}
		p.Rules[k] = Rule{Weight: r.Weight, Decisive: r.Decisive}
	}
	if err := cborx.Canonical(b, &w); err != nil {
		return nil, fmt.Errorf("%w: policy: %w", ErrMalformed, err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}
