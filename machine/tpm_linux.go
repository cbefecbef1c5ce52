package machine

import (
	"fmt"
	"os"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// openTPM opens a TPM character device (such as /dev/tpmrm0) or the unix
// socket of a TPM simulator.
func openTPM(path string) (transport.TPMCloser, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTPM, err)
	}
	var tpm transport.TPMCloser
	if st.Mode()&os.ModeSocket != 0 {
		tpm, err = linuxudstpm.Open(path)
	} else {
		tpm, err = linuxtpm.Open(path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrTPM, path, err)
	}
	return tpm, nil
}
