package cborx

import "fmt"

// Reader walks an item that Check has accepted, without copying: byte and
// text strings are returned as subslices. It still checks bounds, so misuse
// gives an error, never a panic.
type Reader struct {
	b   []byte
	off int
}

// NewReader reads b from the start.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

func (r *Reader) head() (major byte, arg uint64, err error) {
	if r.off >= len(r.b) {
		return 0, 0, &Error{Offset: r.off, Err: ErrMalformed, Detail: "unexpected end of data"}
	}
	ib := r.b[r.off]
	major, ai := ib>>5, ib&0x1f
	r.off++
	if ai < 24 {
		return major, uint64(ai), nil
	}
	if ai > 27 {
		return 0, 0, &Error{Offset: r.off - 1, Err: ErrMalformed, Detail: "indefinite or reserved"}
	}
	n := 1 << (ai - 24)
	if len(r.b)-r.off < n {
		return 0, 0, &Error{Offset: r.off, Err: ErrMalformed, Detail: "unexpected end of data"}
	}
	for i := 0; i < n; i++ {
		arg = arg<<8 | uint64(r.b[r.off+i])
	}
	r.off += n
	return major, arg, nil
}

func (r *Reader) expect(want byte) (uint64, error) {
	start := r.off
	major, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	if major != want {
		return 0, &Error{Offset: start, Err: ErrMalformed, Detail: fmt.Sprintf("major type %d where %d was expected", major, want)}
	}
	return arg, nil
}

// Map reads a map header and returns its number of pairs.
func (r *Reader) Map() (int, error) {
	n, err := r.expect(5)
	if err != nil {
		return 0, err
	}
	if n > uint64(len(r.b)) {
		return 0, &Error{Offset: r.off, Err: ErrMalformed, Detail: "map longer than the data"}
	}
	return int(n), nil
}

// Uint reads an unsigned integer.
func (r *Reader) Uint() (uint64, error) { return r.expect(0) }

// Int reads a signed integer that fits in int64 (map keys, mostly).
func (r *Reader) Int() (int64, error) {
	start := r.off
	major, arg, err := r.head()
	if err != nil {
		return 0, err
	}
	switch {
	case major == 0 && arg < 1<<63:
		return int64(arg), nil
	case major == 1 && arg < 1<<63:
		return -1 - int64(arg), nil
	}
	return 0, &Error{Offset: start, Err: ErrMalformed, Detail: "not an integer in int64 range"}
}

// Bytes reads a byte string, returned as a subslice of the input.
func (r *Reader) Bytes() ([]byte, error) { return r.str(2) }

// Text reads a text string.
func (r *Reader) Text() (string, error) {
	b, err := r.str(3)
	return string(b), err
}

func (r *Reader) str(major byte) ([]byte, error) {
	n, err := r.expect(major)
	if err != nil {
		return nil, err
	}
	if n > uint64(len(r.b)-r.off) {
		return nil, &Error{Offset: r.off, Err: ErrMalformed, Detail: "string longer than the data"}
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// Done reports an error unless the whole input has been read.
func (r *Reader) Done() error {
	if r.off != len(r.b) {
		return &Error{Offset: r.off, Err: ErrTrailing}
	}
	return nil
}

// Skip reads over one item of any type.
func (r *Reader) Skip() error {
	major, arg, err := r.head()
	if err != nil {
		return err
	}
	switch major {
	case 2, 3:
		if arg > uint64(len(r.b)-r.off) {
			return &Error{Offset: r.off, Err: ErrMalformed, Detail: "string longer than the data"}
		}
		r.off += int(arg)
	case 4, 5:
		if major == 5 {
			if arg > uint64(len(r.b)) {
				return &Error{Offset: r.off, Err: ErrMalformed, Detail: "map longer than the data"}
			}
			arg *= 2
		}
		if arg > uint64(len(r.b)-r.off) {
			return &Error{Offset: r.off, Err: ErrMalformed, Detail: "array longer than the data"}
		}
		for i := uint64(0); i < arg; i++ {
			if err := r.Skip(); err != nil {
				return err
			}
		}
	case 6:
		return r.Skip()
	}
	return nil
}

// Keys says which integer map keys an object defines, and which of their
// values are maps whose keys are defined too (for UnknownKey).
type Keys struct {
	Defined []int64
	Nested  map[int64]*Keys
}

// UnknownKey returns the first map key of b, in encoding order and
// descending into the maps k.Nested names, that k does not define, in
// diagnostic notation. b must have passed Check. A value that is not where a
// map is expected is left to the decoder that follows (its type is wrong,
// not its keys). SPEC.md section 2 checks keys before types, so a verifier
// refuses an unknown claim with ErrUnknownClaim whatever else is wrong.
func UnknownKey(b []byte, k *Keys) (key string, found bool) {
	r := NewReader(b)
	return r.unknownKey(k)
}

func (r *Reader) unknownKey(k *Keys) (string, bool) {
	if r.off >= len(r.b) || r.b[r.off]>>5 != 5 {
		return "", false
	}
	n, err := r.Map()
	if err != nil {
		return "", false
	}
	for i := 0; i < n; i++ {
		if r.off < len(r.b) && r.b[r.off]>>5 > 1 {
			if err := r.Skip(); err != nil {
				return "", false
			}
			return "a text string", true // text keys are never defined
		}
		key, err := r.Int()
		if err != nil {
			return "", false
		}
		defined := false
		for _, d := range k.Defined {
			defined = defined || d == key
		}
		if !defined {
			return fmt.Sprint(key), true
		}
		if sub, ok := k.Nested[key]; ok {
			inner := &Reader{b: r.b, off: r.off}
			if s, found := inner.unknownKey(sub); found {
				return s, true
			}
		}
		if err := r.Skip(); err != nil {
			return "", false
		}
	}
	return "", false
}

// Offset is how many bytes have been read.
func (r *Reader) Offset() int { return r.off }

// Missing returns the first key of required, in the order given, that the
// map b does not have; inside names a key whose value is a map and lists the
// keys that map requires. b must have passed Check; values that are not maps
// are left to the decoder (their type is wrong, not their keys).
func Missing(b []byte, required []int64, inside map[int64][]int64) (key string, missing bool) {
	vals := fields(b)
	if vals == nil {
		return "", false
	}
	for _, k := range required {
		if _, ok := vals[k]; !ok {
			return fmt.Sprint(k), true
		}
	}
	for k, req := range inside {
		sub := fields(vals[k])
		if sub == nil {
			continue
		}
		for _, kk := range req {
			if _, ok := sub[kk]; !ok {
				return fmt.Sprintf("%d in %d", kk, k), true
			}
		}
	}
	return "", false
}

// fields returns the integer-keyed values of the map b, or nil if b is not a map.
func fields(b []byte) map[int64][]byte {
	if len(b) == 0 || b[0]>>5 != 5 {
		return nil
	}
	r := NewReader(b)
	n, err := r.Map()
	if err != nil {
		return nil
	}
	out := make(map[int64][]byte, n)
	for i := 0; i < n; i++ {
		if r.off < len(r.b) && r.b[r.off]>>5 > 1 {
			if r.Skip() != nil || r.Skip() != nil {
				return nil
			}
			continue
		}
		k, err := r.Int()
		if err != nil {
			return nil
		}
		start := r.off
		if r.Skip() != nil {
			return nil
		}
		out[k] = r.b[start:r.off]
	}
	return out
}
