package verifier

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/seatkey/seatkey/internal/cborx"
)

// The state file is the deterministic CBOR map {1: latest time seen (seconds
// since 1970), ? 2: {vendor => highest revocation list sequence}}. It is
// written atomically (temporary file, then rename), mode 0600. It detects a
// clock set back and a revocation list rolled back; it cannot stop someone
// who deletes it.
type stateFile struct {
	LastSeen  uint64            `cbor:"1,keyasint"`
	Sequences map[string]uint64 `cbor:"2,keyasint,omitempty"`
}

const maxStateSize = 1 << 16

// ParseState decodes a state file strictly.
func parseState(b []byte) (stateFile, error) {
	var s stateFile
	if len(b) > maxStateSize {
		return s, fmt.Errorf("%w: too large", ErrState)
	}
	if err := cborx.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%w: %w", ErrState, err)
	}
	return s, nil
}

func observe(path string, now time.Time, tolerance time.Duration, rl *RevocationList) error {
	var s stateFile
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("%w: %v", ErrState, err)
	default:
		if s, err = parseState(b); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	last := time.Unix(int64(s.LastSeen), 0)
	if s.LastSeen != 0 && now.Before(last.Add(-tolerance)) {
		return fmt.Errorf("%w: now %s, but %s was seen before", ErrClockRollback, now.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339))
	}
	changed := false
	if rl != nil {
		seen := s.Sequences[rl.Vendor]
		if rl.Sequence < seen {
			return fmt.Errorf("%w: list %d, but %d was seen before", ErrRevocationRollback, rl.Sequence, seen)
		}
		if rl.Sequence > seen {
			if s.Sequences == nil {
				s.Sequences = map[string]uint64{}
			}
			s.Sequences[rl.Vendor] = rl.Sequence
			changed = true
		}
	}
	if n := now.Unix(); n > 0 && uint64(n) > s.LastSeen {
		s.LastSeen = uint64(n)
		changed = true
	}
	if changed {
		out, err := cborx.Marshal(s)
		if err != nil {
			return err
		}
		if err := writeAtomic(path, out); err != nil {
			return fmt.Errorf("%w: cannot save: %v", ErrState, err)
		}
	}
	return nil
}

func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".seatkey-state-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
