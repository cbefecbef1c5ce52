package license

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
)

// Reason says why something was revoked.
type Reason uint8

const (
	ReasonUnspecified   Reason = 0
	ReasonKeyCompromise Reason = 1 // keys: every token the key signed is refused
	ReasonRefunded      Reason = 2
	ReasonAbuse         Reason = 3
	ReasonLeaked        Reason = 4
	ReasonSuperseded    Reason = 5
	ReasonRetired       Reason = 6 // keys: tokens issued after the time are refused
	maxReason                  = 6
)

var reasonNames = [...]string{"unspecified", "key-compromise", "refunded", "abuse", "leaked", "superseded", "retired"}

func (r Reason) String() string {
	if r <= maxReason {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// ParseReason parses a reason name.
func ParseReason(s string) (Reason, error) {
	for i, n := range reasonNames {
		if n == s {
			return Reason(i), nil
		}
	}
	return 0, fmt.Errorf("unknown revocation reason %q (want one of %v)", s, reasonNames)
}

// Entry is one revoked ID.
type Entry struct {
	ID     []byte
	At     time.Time
	Reason Reason
}

// Entry sizes: the ID, then the time (uint32 big-endian seconds since 1970),
// then the reason byte.
const (
	idEntrySize  = 16 + 4 + 1
	keyEntrySize = 8 + 4 + 1
	// MaxRevocationSize bounds a revocation list token in binary form.
	MaxRevocationSize = armor.MaxRevocationListSize
)

// ErrRevocationList is returned for a malformed list.
var ErrRevocationList = errors.New("malformed revocation list")

// Revocations is the content (payload) of a revocation list token, not
// verified: package verifier's RevocationList is a verified list. Lookups
// search the sorted fixed-width entries in place: no map, no allocation.
type Revocations struct {
	Vendor      string
	IssuedAt    time.Time
	Sequence    uint64
	NextUpdate  time.Time
	licenses    []byte
	activations []byte
	keys        []byte
	licIndex    []uint32 // bucket starts by the IDs' first two bytes (large lists only)
	actIndex    []uint32
}

type wireRevocation struct {
	Iss string     `cbor:"1,keyasint"`
	Iat uint64     `cbor:"6,keyasint"`
	SK  wireRevoke `cbor:"-65537,keyasint"`
}

type wireRevoke struct {
	Seq         uint64 `cbor:"1,keyasint"`
	NextUpdate  uint64 `cbor:"2,keyasint"`
	Licenses    []byte `cbor:"3,keyasint,omitempty"`
	Activations []byte `cbor:"4,keyasint,omitempty"`
	Keys        []byte `cbor:"5,keyasint,omitempty"`
}

// NewRevocations builds a list's content; entries may come in any order.
func NewRevocations(vendor string, seq uint64, issued, next time.Time, licenses, activations, keys []Entry) (*Revocations, error) {
	r := &Revocations{Vendor: vendor, Sequence: seq, IssuedAt: issued.UTC().Truncate(time.Second), NextUpdate: next.UTC().Truncate(time.Second)}
	defer r.index()
	var err error
	if r.licenses, err = pack(licenses, 16); err != nil {
		return nil, err
	}
	if r.activations, err = pack(activations, 16); err != nil {
		return nil, err
	}
	if r.keys, err = pack(keys, 8); err != nil {
		return nil, err
	}
	return r, r.validate()
}

func pack(es []Entry, idSize int) ([]byte, error) {
	es = slices.Clone(es)
	slices.SortFunc(es, func(a, b Entry) int { return bytes.Compare(a.ID, b.ID) })
	out := make([]byte, 0, len(es)*(idSize+5))
	for i, e := range es {
		if len(e.ID) != idSize {
			return nil, fmt.Errorf("%w: ID of %d bytes, want %d", ErrRevocationList, len(e.ID), idSize)
		}
		if i > 0 && bytes.Equal(es[i-1].ID, e.ID) {
			return nil, fmt.Errorf("%w: ID listed twice", ErrRevocationList)
		}
		if e.At.Unix() < 0 || e.At.Unix() > 1<<32-1 || e.Reason > maxReason {
			return nil, fmt.Errorf("%w: time or reason out of range", ErrRevocationList)
		}
		out = append(out, e.ID...)
		out = binary.BigEndian.AppendUint32(out, uint32(e.At.Unix()))
		out = append(out, byte(e.Reason))
	}
	return out, nil
}

// keyReason reports whether a reason may be given for a key (1 and 6 only)
// or, if !key, for a license or an activation (every other reason).
func keyReason(r byte, key bool) bool {
	isKey := r == byte(ReasonKeyCompromise) || r == byte(ReasonRetired)
	return r <= maxReason && isKey == key
}

func (r *Revocations) validate() error {
	if r.Vendor == "" || len(r.Vendor) > MaxTextLen || !utf8.ValidString(r.Vendor) {
		return fmt.Errorf("%w: vendor (iss) must be 1 to %d bytes of UTF-8", ErrRevocationList, MaxTextLen)
	}
	if r.Sequence == 0 || r.IssuedAt.Unix() <= 0 || !r.NextUpdate.After(r.IssuedAt) {
		return fmt.Errorf("%w: sequence (>= 1), issue time and a later next-update time are required", ErrRevocationList)
	}
	iat := uint32(min(r.IssuedAt.Unix(), 1<<32-1))
	for _, part := range []struct {
		b    []byte
		id   int
		name string
	}{{r.licenses, 16, "licenses"}, {r.activations, 16, "activations"}, {r.keys, 8, "keys"}} {
		size := part.id + 5
		if len(part.b)%size != 0 {
			return fmt.Errorf("%w: %s is not a whole number of %d-byte entries", ErrRevocationList, part.name, size)
		}
		key := part.id == 8
		for off := 0; off < len(part.b); off += size {
			reason := part.b[off+size-1]
			if !keyReason(reason, key) {
				return fmt.Errorf("%w: reason %d is not allowed in %s (1 and 6 are for keys only, and keys take only those)", ErrRevocationList, reason, part.name)
			}
			if at := binary.BigEndian.Uint32(part.b[off+part.id:]); at > iat && Reason(reason) != ReasonRetired {
				return fmt.Errorf("%w: an entry in %s is dated after the list was issued", ErrRevocationList, part.name)
			}
			if off > 0 && bytes.Compare(part.b[off-size:off-size+part.id], part.b[off:off+part.id]) >= 0 {
				return fmt.Errorf("%w: %s not sorted and unique", ErrRevocationList, part.name)
			}
		}
	}
	return nil
}

// Marshal returns the payload of a revocation list token.
func (r *Revocations) Marshal() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	return cborx.Marshal(wireRevocation{Iss: r.Vendor, Iat: uint64(r.IssuedAt.Unix()),
		SK: wireRevoke{Seq: r.Sequence, NextUpdate: uint64(r.NextUpdate.Unix()), Licenses: r.licenses, Activations: r.activations, Keys: r.keys}})
}

// revocationKeys are the keys revocation-claims defines (SPEC.md 11.1).
var revocationKeys = &cborx.Keys{
	Defined: []int64{1, 6, ClaimSeatkey},
	Nested:  map[int64]*cborx.Keys{ClaimSeatkey: {Defined: []int64{1, 2, 3, 4, 5}}},
}

// ParseRevocations strictly decodes a revocation list payload, checking in
// the order SPEC.md section 11.1 gives: CBOR rules (section 2), unknown keys
// (ErrUnknownClaim), value types, empty entry lists (ErrNonCanonical), then
// the list's rules (ErrRevocationList). The entries are not copied: the
// result refers to b, which must not change.
func ParseRevocations(b []byte) (*Revocations, error) {
	if err := cborx.Check(b); err != nil {
		return nil, fmt.Errorf("revocation list: %w", err)
	}
	if k, found := cborx.UnknownKey(b, revocationKeys); found {
		return nil, fmt.Errorf("%w: revocation list key %s", ErrUnknownClaim, k)
	}
	// Check proved the encoding deterministic and UnknownKey that every key
	// is defined; what is left is the shape, walked in place so a million
	// entries are never copied.
	r := &Revocations{}
	var iat, next uint64
	var seen [3]bool
	var sk [6]bool
	rd := cborx.NewReader(b)
	typeErr := func(err error) error {
		return fmt.Errorf("%w: a value of the wrong type: %w", ErrRevocationList, err)
	}
	n, err := rd.Map()
	if err != nil {
		return nil, typeErr(err)
	}
	for i := 0; i < n; i++ {
		k, _ := rd.Int()
		switch k {
		case 1:
			r.Vendor, err = rd.Text()
			seen[0] = true
		case 6:
			iat, err = rd.Uint()
			seen[1] = true
		default:
			seen[2] = true
			var m int
			if m, err = rd.Map(); err != nil {
				break
			}
			for j := 0; j < m && err == nil; j++ {
				k, _ := rd.Int()
				if k >= 1 && k <= 5 { // UnknownKey has refused every other key
					sk[k] = true
				}
				switch k {
				case 1:
					r.Sequence, err = rd.Uint()
				case 2:
					next, err = rd.Uint()
				case 3:
					r.licenses, err = rd.Bytes()
				case 4:
					r.activations, err = rd.Bytes()
				case 5:
					r.keys, err = rd.Bytes()
				}
			}
		}
		if err != nil {
			return nil, typeErr(err)
		}
	}
	if err := rd.Done(); err != nil {
		return nil, err
	}
	for k := 3; k <= 5; k++ {
		if sk[k] && len([][]byte{r.licenses, r.activations, r.keys}[k-3]) == 0 {
			return nil, fmt.Errorf("revocation list: %w: an empty entry list must be omitted", ErrNonCanonical)
		}
	}
	if !seen[0] || !seen[1] || !seen[2] || !sk[1] || !sk[2] {
		return nil, fmt.Errorf("%w: iss, iat, sequence and next update are required", ErrRevocationList)
	}
	if iat > maxTime || next > maxTime {
		return nil, fmt.Errorf("%w: time after 9999-12-31T23:59:59Z", ErrRevocationList)
	}
	r.IssuedAt, r.NextUpdate = fromUnix(iat), fromUnix(next)
	if err := r.validate(); err != nil {
		return nil, err
	}
	r.index()
	return r, nil
}

// index records, for each first two bytes of an ID, where its entries start,
// so a lookup binary-searches one small bucket (about len/65536 entries).
func (r *Revocations) index() {
	for _, part := range []struct {
		b   []byte
		dst *[]uint32
	}{{r.licenses, &r.licIndex}, {r.activations, &r.actIndex}} {
		n := len(part.b) / idEntrySize
		if n < 1<<12 {
			continue // small lists: plain binary search
		}
		idx := make([]uint32, 1<<16+1)
		for i := 0; i < n; i++ {
			idx[uint32(part.b[i*idEntrySize])<<8|uint32(part.b[i*idEntrySize+1])+1]++
		}
		for i := 1; i < len(idx); i++ {
			idx[i] += idx[i-1]
		}
		*part.dst = idx
	}
}

// find binary-searches the fixed-width entries of b (within the bucket of
// idx, if any) for id, comparing the first 8 bytes as one integer.
func find(b []byte, idx []uint32, id []byte) (Entry, bool) {
	size := len(id) + 5
	lo, hi := 0, len(b)/size
	if idx != nil {
		p := uint32(id[0])<<8 | uint32(id[1])
		lo, hi = int(idx[p]), int(idx[p+1])
	}
	key := binary.BigEndian.Uint64(id)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		e := b[mid*size : mid*size+len(id)]
		c := binary.BigEndian.Uint64(e)
		switch {
		case c < key:
			lo = mid + 1
		case c > key:
			hi = mid
		default:
			switch cmp := bytes.Compare(e[8:], id[8:]); {
			case cmp < 0:
				lo = mid + 1
			case cmp > 0:
				hi = mid
			default:
				e = b[mid*size : (mid+1)*size]
				return Entry{ID: e[:len(id)], At: time.Unix(int64(binary.BigEndian.Uint32(e[len(id):])), 0).UTC(), Reason: Reason(e[size-1])}, true
			}
		}
	}
	return Entry{}, false
}

// License, Activation and Key report whether an ID is revoked, and how.
func (r *Revocations) License(id ID) (Entry, bool) { return find(r.licenses, r.licIndex, id[:]) }
func (r *Revocations) Activation(id [16]byte) (Entry, bool) {
	return find(r.activations, r.actIndex, id[:])
}
func (r *Revocations) Key(id KeyID) (Entry, bool) { return find(r.keys, nil, id[:]) }

// Len returns how many licenses, activations and keys the list revokes.
func (r *Revocations) Len() (licenses, activations, keys int) {
	return len(r.licenses) / idEntrySize, len(r.activations) / idEntrySize, len(r.keys) / keyEntrySize
}
