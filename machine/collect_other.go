//go:build !linux && !windows && !darwin

package machine

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/seatkey/seatkey/fingerprint"
)

// collectOS fails: seatkey reads hardware on Linux, Windows and macOS only.
// Recorded machines (Options.Root) still read on every OS.
func collectOS(o Options) (*fingerprint.Profile, error) {
	return nil, fmt.Errorf("machine: reading hardware on %s: %w (seatkey reads Linux, Windows and macOS)", runtime.GOOS, errors.ErrUnsupported)
}
