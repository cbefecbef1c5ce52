package verifier

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/seatkey/seatkey/internal/atomicfile"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/license"
)

// State file refusals. ErrState means the file is there but damaged (the
// verifier never silently starts afresh); ErrStateIO means it could not be
// read or written at all (permissions, a full disk) and also wraps the
// underlying *fs.PathError for errors.As.
var (
	ErrState   = errors.New("verifier state file is damaged")
	ErrStateIO = errors.New("cannot read or write the verifier state file")
)

const (
	maxStateSize       = 1 << 16
	maxCompromisedKeys = 4096
	maxTime            = 253402300799
	stateFileName      = "seatkey.state"
	lastSeenStep       = 60 // seconds
)

// wireState is the state file (SPEC.md section 7, "State file"):
//
//	state = {
//	  1 => time,               ; latest time seen
//	  ? 2 => uint,             ; highest revocation list sequence seen, >= 1
//	  ? 3 => bstr .size 8,     ; key that signed that list (only with 2; absent: unknown)
//	  ? 4 => [+ bstr .size 8], ; keys revoked for compromise, sorted, unique
//	  ? 5 => time,             ; iat of the last state reset applied
//	}
//
// Files of the first version, whose key 2 was a map of vendor name to
// sequence, are read as the largest of those sequences and rewritten.
type wireState struct {
	LastSeen    uint64          `cbor:"1,keyasint"`
	Sequence    cbor.RawMessage `cbor:"2,keyasint,omitempty"`
	Signer      []byte          `cbor:"3,keyasint,omitempty"`
	Compromised [][]byte        `cbor:"4,keyasint,omitempty"`
	ResetAt     uint64          `cbor:"5,keyasint,omitempty"`
}

// state is the decoded state file.
type state struct {
	LastSeen    uint64
	Sequence    uint64
	Signer      license.KeyID // valid when HasSigner
	HasSigner   bool
	Compromised []license.KeyID
	ResetAt     uint64
	migrated    bool // read from the old form: rewrite it
}

func parseState(b []byte) (*state, error) {
	if len(b) > maxStateSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrState, maxStateSize)
	}
	var w wireState
	if err := cborx.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	s := &state{LastSeen: w.LastSeen, ResetAt: w.ResetAt}
	if w.LastSeen == 0 || w.LastSeen > maxTime || w.ResetAt > maxTime {
		return nil, fmt.Errorf("%w: time out of range", ErrState)
	}
	if len(w.Sequence) > 0 {
		switch w.Sequence[0] >> 5 {
		case 0: // uint: the current form
			if err := cborx.Unmarshal(w.Sequence, &s.Sequence); err != nil || s.Sequence == 0 {
				return nil, fmt.Errorf("%w: list sequence must be at least 1", ErrState)
			}
			if w.Signer != nil {
				if len(w.Signer) != len(s.Signer) {
					return nil, fmt.Errorf("%w: the list signer must be an 8-byte key ID", ErrState)
				}
				s.Signer, s.HasSigner = license.KeyID(w.Signer), true
			}
		case 5: // {+ tstr => uint}: the first version, kept per vendor name
			var old map[string]uint64
			if err := cborx.Unmarshal(w.Sequence, &old); err != nil || len(old) == 0 || w.Signer != nil {
				return nil, fmt.Errorf("%w: list sequences of the first version are malformed", ErrState)
			}
			for _, v := range old {
				s.Sequence = max(s.Sequence, v)
			}
			s.migrated = true
		default:
			return nil, fmt.Errorf("%w: list sequence is neither a number nor a map", ErrState)
		}
	} else if w.Signer != nil {
		return nil, fmt.Errorf("%w: a list signer without a sequence", ErrState)
	}
	if len(w.Compromised) > maxCompromisedKeys {
		return nil, fmt.Errorf("%w: more than %d compromised keys", ErrState, maxCompromisedKeys)
	}
	for i, k := range w.Compromised {
		if len(k) != len(license.KeyID{}) || (i > 0 && bytes.Compare(w.Compromised[i-1], k) >= 0) {
			return nil, fmt.Errorf("%w: compromised key IDs must be 8 bytes, sorted and unique", ErrState)
		}
		s.Compromised = append(s.Compromised, license.KeyID(k))
	}
	return s, nil
}

func (s *state) marshal() ([]byte, error) {
	w := wireState{LastSeen: s.LastSeen, ResetAt: s.ResetAt}
	if s.Sequence > 0 {
		w.Sequence, _ = cborx.Marshal(s.Sequence)
		if s.HasSigner {
			w.Signer = bytes.Clone(s.Signer[:])
		}
	}
	for _, k := range s.Compromised {
		w.Compromised = append(w.Compromised, bytes.Clone(k[:]))
	}
	return cborx.Marshal(w)
}

// compromised reports whether the state remembers kid as revoked for compromise.
func (s *state) compromised(kid license.KeyID) bool {
	if s == nil {
		return false
	}
	_, ok := slices.BinarySearchFunc(s.Compromised, kid, compareKeyID)
	return ok
}

func (s *state) addCompromised(kid license.KeyID) bool {
	i, ok := slices.BinarySearchFunc(s.Compromised, kid, compareKeyID)
	if ok || len(s.Compromised) >= maxCompromisedKeys {
		return false // a full file keeps what it has and stays readable
	}
	s.Compromised = slices.Insert(s.Compromised, i, kid)
	return true
}

func compareKeyID(a, b license.KeyID) int { return bytes.Compare(a[:], b[:]) }

// readState reads the state file at path; a file that does not exist is a
// fresh state (nil, nil).
func readState(path string) (*state, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateIO, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateIO, err)
	}
	s, err := parseState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// writeState replaces the state file atomically: a temporary file in the
// same directory (created 0600, synced), then a rename, which replaces the
// old file in one step on Unix and on Windows (MoveFileEx with
// MOVEFILE_REPLACE_EXISTING). A missing directory is created 0700.
func writeState(path string, s *state) error {
	data, err := s.marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("%w: %w", ErrStateIO, err)
	}
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("%w: %w", ErrStateIO, err)
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	return atomicfile.WriteBytes(path, data, 0o600, true)
}

// observe is the state step of SPEC.md section 7 (S1 to S8): it reads the
// state file, applies a state reset, merges the time and the revocation list
// (its sequence, its signer and the keys it revokes for compromise), writes
// the file back unless o.DryRun, and only then refuses a clock set back or a
// list older than one seen before. Writing first means that a list is
// remembered even when it, or anything after it, refuses this verification.
//
// It returns the state as it is after the merge (for the compromised keys)
// and whether the file recorded a list before this verification.
func observe(o *Options, now time.Time, lic license.ID, device *[16]byte) (*state, bool, error) {
	old, err := readState(o.State)
	if err != nil {
		return nil, false, err
	}
	hadList := old != nil && old.Sequence > 0
	s := &state{}
	if old != nil {
		c := *old
		c.Compromised = slices.Clone(old.Compromised)
		s = &c
	}
	changed := old == nil || old.migrated
	rl := o.Revocations
	// S2: a list signed by a key an earlier list revoked for compromise.
	if rl != nil && s.compromised(rl.KeyID) {
		return nil, false, fmt.Errorf("revocation list: %w", &RevokedError{What: "signing key", ID: rl.KeyID.String(), Reason: license.ReasonKeyCompromise})
	}
	// S3: a vendor-signed state reset.
	if len(o.StateReset) > 0 {
		r, err := openStateReset(o.StateReset, o.Keys, s, rl, lic, device)
		if err != nil {
			return nil, false, err
		}
		if uint64(r.IssuedAt.Unix()) > s.ResetAt {
			s.LastSeen = uint64(r.LastSeen.Unix())
			s.ResetAt = uint64(r.IssuedAt.Unix())
			changed = true
		}
	}
	lastSeen := s.LastSeen
	seen := s.Sequence
	// S4: the list: keys it revokes for compromise, then its sequence.
	if rl != nil {
		for _, e := range rl.CompromisedKeys() {
			if s.addCompromised(e) {
				changed = true
			}
		}
		if seen > 0 && s.HasSigner && s.compromised(s.Signer) {
			// The highest list seen was signed by a key now known to be
			// stolen: its sequence proves nothing.
			seen, s.Sequence, s.Signer, s.HasSigner = 0, 0, license.KeyID{}, false
			changed = true
		}
		if rl.Sequence > s.Sequence {
			s.Sequence, s.Signer, s.HasSigner = rl.Sequence, rl.KeyID, true
			changed = true
		}
	}
	// S5: the latest time seen, moved in steps of at least a minute so that
	// an application verifying often does not write the disk every second.
	if n := uint64(min(max(now.Unix(), 1), maxTime)); s.LastSeen == 0 || n >= s.LastSeen+lastSeenStep {
		s.LastSeen = n
		changed = true
	}
	// S6: write before any refusal.
	if changed && !o.DryRun {
		if err := writeState(o.State, s); err != nil {
			return nil, false, err
		}
	}
	// S7: clock set back.
	if lastSeen != 0 {
		last := time.Unix(int64(lastSeen), 0)
		if now.Before(last.Add(-o.rollbackTolerance())) {
			return nil, false, fmt.Errorf("%w: now %s, but %s was seen before", ErrClockRollback, now.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
		}
	}
	// S8: list rolled back.
	if rl != nil && rl.Sequence < seen {
		return nil, false, fmt.Errorf("%w: list %d, but %d was seen before", ErrRevocationRollback, rl.Sequence, seen)
	}
	return s, hadList, nil
}
