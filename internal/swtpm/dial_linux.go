package swtpm

import (
	"testing"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// Dial connects to a running swtpm socket.
func Dial(t testing.TB, sock string) transport.TPMCloser {
	t.Helper()
	tpm, err := linuxudstpm.Open(sock)
	if err != nil {
		t.Fatalf("connect to swtpm: %v", err)
	}
	t.Cleanup(func() { tpm.Close() })
	return tpm
}
