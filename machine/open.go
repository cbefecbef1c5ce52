package machine

import "github.com/google/go-tpm/tpm2/transport"

// OpenTPM opens the TPM at path (a character device such as /dev/tpmrm0, or
// a simulator's unix socket; on Windows, TBS), or the default device when
// path is empty, for package attest.
func OpenTPM(path string) (transport.TPMCloser, error) {
	if path == "" {
		path = DefaultTPMDevice
	}
	return openTPM(path)
}
