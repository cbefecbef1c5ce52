package machine

import (
	"fmt"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/windowstpm"
)

// openTPM opens this machine's TPM through the TPM Base Services (TBS), the
// only way Windows offers; path must be "".
func openTPM(path string) (transport.TPMCloser, error) {
	if path != "" {
		return nil, fmt.Errorf("%w: %s: on Windows the TPM is reached through TBS, not a path", ErrTPM, path)
	}
	tpm, err := windowstpm.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: TPM Base Services: %v", ErrTPM, err)
	}
	return tpm, nil
}
