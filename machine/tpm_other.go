//go:build !linux && !windows

package machine

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/google/go-tpm/tpm2/transport"
)

// openTPM fails: seatkey reads a TPM on Linux and Windows only (Macs have none).
func openTPM(path string) (transport.TPMCloser, error) {
	return nil, fmt.Errorf("%w: no TPM support on %s: %w", ErrTPM, runtime.GOOS, errors.ErrUnsupported)
}
