package fingerprint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/seatkey/seatkey/internal/cborx"
)

// Rule is how one component counts in a match.
type Rule struct {
	Weight   uint16 // 0: shown, never counted
	Decisive bool   // present on both sides with nothing in common: a new device
}

// Policy decides whether two fingerprints are the same device.
type Policy struct {
	Threshold   uint8  // percent of the compared weight that must match, 1..100
	MinEvidence uint16 // compared weight of Identity components needed to decide at all
	Rules       [maxComponent + 1]Rule
	// Optional is a bitmask (bit c for component c) of the counted
	// components that may be missing now although they were enrolled.
	// Every other counted component that was enrolled must be present:
	// hiding it (running without the privileges it needs) is refused.
	Optional uint16
}

// IsOptional reports whether p lets c be missing now.
func (p *Policy) IsOptional(c Component) bool { return c.valid() && p.Optional&(1<<c) != 0 }

// DefaultPolicy is the policy SPEC.md defines: processor and motherboard
// identity (board, system UUID, TPM EK) are decisive; serials, UUIDs, disks and
// NICs carry the weight; model-level values count little; software never.
var DefaultPolicy = Policy{
	Threshold:   60,
	MinEvidence: 6,
	Rules: [maxComponent + 1]Rule{
		CPU:          {2, true},
		BoardModel:   {2, true},
		BoardSerial:  {10, true},
		SystemUUID:   {10, true},
		SystemSerial: {5, false},
		BIOS:         {1, false},
		Memory:       {1, false},
		Disks:        {6, false},
		NICs:         {6, false},
		TPMEK:        {10, true},
	},
}

// Status is what happened to one component between enrolment and now.
type Status uint8

const (
	Absent  Status = iota // on neither side
	Matched               // every enrolled value found now
	Partial               // some enrolled values found now
	Changed               // no enrolled value found now, or implausible growth
	Added                 // only on the current machine
	Missing               // only in the enrolled fingerprint
)

var statusNames = [...]string{"absent", "matched", "partial", "changed", "added", "missing"}

func (s Status) String() string               { return statusNames[s] }
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// ComponentResult explains one component.
type ComponentResult struct {
	Component Component `json:"component"`
	Status    Status    `json:"status"`
	Weight    uint16    `json:"weight"`
	Decisive  bool      `json:"decisive,omitempty"`
	Shared    int       `json:"shared"`   // values in common
	Enrolled  int       `json:"enrolled"` // values in the enrolled fingerprint
	Current   int       `json:"current"`  // values on the current machine
	Earned    uint32    `json:"earned"`   // in thousandths of weight
	// Growth: a set gained more new values than it kept, which no honest
	// change does (cards are replaced, not multiplied): counted as changed.
	Growth bool `json:"implausible_growth,omitempty"`
	// Required: enrolled, counted, not optional, and missing now.
	Required bool `json:"missing_required,omitempty"`
}

// Result is a match decision with its explanation.
type Result struct {
	Same            bool                          `json:"same_device"`
	ScopeMismatch   bool                          `json:"scope_mismatch,omitempty"`
	DecisiveChanged Component                     `json:"decisive_changed,omitempty"` // the first decisive component that changed
	MissingRequired Component                     `json:"missing_required,omitempty"` // the first enrolled component that must be present and is not
	Threshold       uint8                         `json:"threshold_percent"`
	MinEvidence     uint16                        `json:"min_evidence"`
	Score           uint32                        `json:"score_permille"` // earned / compared, in thousandths
	Earned          uint32                        `json:"earned"`
	Compared        uint32                        `json:"compared"`
	Evidence        uint32                        `json:"identity_weight_compared"`
	Components      [maxComponent]ComponentResult `json:"-"`
}

// Match compares the enrolled fingerprint with the current one under p.
// Both must have the same scope; otherwise the result is a new device.
// The comparison is one-sided: the enrolled fingerprint is the reference, a
// counted component it has that cannot be read now is a refusal unless the
// policy makes it optional, and a set is scored by how many of its enrolled
// values are still there. Match allocates nothing.
func Match(enrolled, current *Fingerprint, p *Policy) Result {
	r := Result{Threshold: p.Threshold, MinEvidence: p.MinEvidence}
	if enrolled.Scope != current.Scope {
		r.ScopeMismatch = true
		return r
	}
	for c := Component(1); c <= maxComponent; c++ {
		rule := p.Rules[c]
		counted := rule.Weight > 0 || rule.Decisive
		a, b := enrolled.Components[c], current.Components[c]
		cr := &r.Components[c-1]
		*cr = ComponentResult{Component: c, Weight: rule.Weight, Decisive: rule.Decisive, Enrolled: len(a), Current: len(b)}
		switch {
		case len(a) == 0 && len(b) == 0:
			cr.Status = Absent
			continue
		case len(a) == 0:
			cr.Status = Added
			continue
		case len(b) == 0:
			cr.Status = Missing
			if counted && !p.IsOptional(c) {
				cr.Required = true
				if r.MissingRequired == 0 {
					r.MissingRequired = c
				}
			}
			continue
		}
		k := intersect(a, b)
		cr.Shared = k
		if len(b)-k > k {
			cr.Growth = true
			k = 0
		}
		switch {
		case k == len(a):
			cr.Status = Matched
		case k > 0:
			cr.Status = Partial
		default:
			cr.Status = Changed
		}
		if rule.Weight == 0 {
			if rule.Decisive && k == 0 && r.DecisiveChanged == 0 {
				r.DecisiveChanged = c
			}
			continue
		}
		cr.Earned = uint32(1000 * uint64(rule.Weight) * uint64(k) / uint64(len(a)))
		r.Earned += cr.Earned
		r.Compared += 1000 * uint32(rule.Weight)
		if c.Class() == Identity {
			r.Evidence += uint32(rule.Weight)
		}
		if rule.Decisive && k == 0 && r.DecisiveChanged == 0 {
			r.DecisiveChanged = c
		}
	}
	if r.Compared > 0 {
		r.Score = uint32(uint64(r.Earned) * 1000 / uint64(r.Compared))
	}
	r.Same = r.MissingRequired == 0 && r.passes()
	return r
}

// passes reports whether the compared components alone make the same device.
func (r *Result) passes() bool {
	return r.DecisiveChanged == 0 && r.Evidence >= uint32(r.MinEvidence) &&
		uint64(r.Earned)*100 >= uint64(r.Threshold)*uint64(r.Compared)
}

// OnlyMissing reports whether the only reason r is not the same device is a
// required component that cannot be read now: the machine could be the
// enrolled one, run with less access than at enrolment, or another machine
// hiding what would tell them apart. Nobody can know which.
func (r *Result) OnlyMissing() bool {
	return !r.ScopeMismatch && r.MissingRequired != 0 && r.passes()
}

// Reason says in a sentence why the result is what it is.
func (r *Result) Reason() string {
	switch {
	case r.ScopeMismatch:
		return ErrScope.Error()
	case r.MissingRequired != 0:
		return fmt.Sprintf("%s was read at activation but cannot be read now: run as the same user as at activation; hidden components are refused", r.MissingRequired)
	case r.DecisiveChanged != 0:
		return fmt.Sprintf("%s changed, and it decides identity", r.DecisiveChanged)
	case r.Evidence < uint32(r.MinEvidence):
		return fmt.Sprintf("too little hardware identity to compare (weight %d, need %d): run with access to serials, disks, NICs or the TPM", r.Evidence, r.MinEvidence)
	case r.Same:
		return fmt.Sprintf("score %d.%d%% reaches the threshold %d%%", r.Score/10, r.Score%10, r.Threshold)
	default:
		return fmt.Sprintf("score %d.%d%% is below the threshold %d%%", r.Score/10, r.Score%10, r.Threshold)
	}
}

// MarshalJSON adds the reason and leaves out components absent on both sides.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	var cs []ComponentResult
	for _, c := range r.Components {
		if c.Status != Absent {
			cs = append(cs, c)
		}
	}
	return json.Marshal(struct {
		plain
		Reason     string            `json:"reason"`
		Components []ComponentResult `json:"components"`
	}{plain(r), r.Reason(), cs})
}

// intersect counts the digests two sorted lists share.
func intersect(a, b []Digest) int {
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch c := bytes.Compare(a[i][:], b[j][:]); {
		case c == 0:
			k++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	return k
}

// String renders the explanation as a table, one component a line.
func (r *Result) String() string {
	var b strings.Builder
	for _, cr := range r.Components {
		if cr.Status == Absent {
			continue
		}
		d := ""
		if cr.Decisive {
			d = " decisive"
		}
		detail := ""
		if cr.Component.IsSet() && cr.Enrolled > 0 && cr.Current > 0 {
			detail = fmt.Sprintf(" (%d shared; enrolled %d, now %d)", cr.Shared, cr.Enrolled, cr.Current)
		}
		if cr.Growth {
			detail += " implausible growth: more new values than kept"
		}
		if cr.Required {
			detail += " required: cannot be read now"
		}
		fmt.Fprintf(&b, "  %-14s %-8s weight %2d%s%s\n", cr.Component, cr.Status, cr.Weight, d, detail)
	}
	verdict := "new device"
	if r.Same {
		verdict = "same device"
	}
	fmt.Fprintf(&b, "%s: %s\n", verdict, r.Reason())
	return b.String()
}

// Wire form of a policy (SPEC.md):
//
//	policy = { 1 => 1..100, 2 => uint, 3 => { + component => [uint, bool] }, ? 4 => uint }
type wirePolicy struct {
	Threshold   uint8              `cbor:"1,keyasint"`
	MinEvidence uint16             `cbor:"2,keyasint"`
	Rules       map[uint8]wireRule `cbor:"3,keyasint"`
	Optional    uint16             `cbor:"4,keyasint,omitempty"`
}

type wireRule struct {
	_        struct{} `cbor:",toarray"`
	Weight   uint16
	Decisive bool
}

// MarshalBinary returns the deterministic CBOR form; components with weight
// 0 that are not decisive are omitted.
func (p *Policy) MarshalBinary() ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	w := wirePolicy{Threshold: p.Threshold, MinEvidence: p.MinEvidence, Rules: map[uint8]wireRule{}, Optional: p.Optional}
	for c := Component(1); c <= maxComponent; c++ {
		if r := p.Rules[c]; r.Weight != 0 || r.Decisive {
			w.Rules[uint8(c)] = wireRule{Weight: r.Weight, Decisive: r.Decisive}
		}
	}
	return cborx.Marshal(w)
}

// Validate checks that a policy can decide anything at all.
func (p *Policy) Validate() error {
	if p.Threshold < 1 || p.Threshold > 100 {
		return fmt.Errorf("%w: policy threshold must be 1 to 100 percent", ErrMalformed)
	}
	var total uint32
	for c := Component(1); c <= maxComponent; c++ {
		r := p.Rules[c]
		if r.Weight > 1000 {
			return fmt.Errorf("%w: weight of %s above 1000", ErrMalformed, c)
		}
		if c.Class() == Software && (r.Weight != 0 || r.Decisive) {
			return fmt.Errorf("%w: %s is a software attribute and cannot count", ErrMalformed, c)
		}
		total += uint32(r.Weight)
	}
	if total == 0 {
		return fmt.Errorf("%w: policy gives no component any weight", ErrMalformed)
	}
	for bit := 0; bit < 16; bit++ {
		c := Component(bit)
		if p.Optional&(1<<bit) == 0 {
			continue
		}
		if !c.valid() {
			return fmt.Errorf("%w: policy makes unknown component %d optional", ErrMalformed, bit)
		}
		if r := p.Rules[c]; r.Weight == 0 && !r.Decisive {
			return fmt.Errorf("%w: policy makes %s optional, but it is not counted", ErrMalformed, c)
		}
	}
	return nil
}
