// Package swtpm runs real software TPMs (swtpm, Debian's swtpm and
// swtpm-tools) for tests: each with its own endorsement seed, an EK
// certificate from swtpm's local CA, and a unix socket.
package swtpm

import (
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxudstpm"
)

// Need skips the test without swtpm, except under CI, which installs it and
// must run the TPM tests.
func Need(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"swtpm", "swtpm_setup"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed, and CI must run the TPM tests (.ci/run installs swtpm)", tool)
			}
			t.Skipf("%s not installed (Debian: apt-get install swtpm swtpm-tools); skipping the real-TPM tests", tool)
		}
	}
}

// NewState provisions a fresh TPM (a new endorsement seed, EK and platform
// certificates) in a directory that lasts as long as the test.
func NewState(t testing.TB) string {
	t.Helper()
	Need(t)
	dir := t.TempDir()
	args := []string{"--tpm2", "--tpmstate", dir, "--create-ek-cert", "--create-platform-cert", "--overwrite"}
	if os.Geteuid() != 0 {
		args = append(args, "--create-config-files", "skip-if-exist") // root uses the system's configuration
	}
	if out, err := exec.Command("swtpm_setup", args...).CombinedOutput(); err != nil {
		t.Fatalf("swtpm_setup: %v\n%s", err, out)
	}
	return dir
}

// Start runs swtpm over state on a unix socket until stop is called or the
// test ends. It returns once the TPM answers a connection: swtpm creates the
// socket file before it listens, so the file existing is not enough.
func Start(t testing.TB, state string) (sock string, stop func()) {
	t.Helper()
	run := t.TempDir()
	sock = filepath.Join(run, "sock")
	cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+state,
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+filepath.Join(run, "ctrl"),
		"--flags", "not-need-init,startup-clear")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("swtpm: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)
	var last error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("swtpm exited before it answered: %v\n%s", err, stderr.String())
		default:
		}
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return sock, stop
		}
		last = err
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	t.Fatalf("swtpm did not answer on %s within 10 s: %v\n%s", sock, last, stderr.String())
	return "", nil
}

// Open starts a fresh TPM and returns a connection to it, closed when the
// test ends, with its state directory (to restart it with Start).
func Open(t testing.TB) (transport.TPMCloser, string) {
	t.Helper()
	state := NewState(t)
	sock, _ := Start(t, state)
	return Dial(t, sock), state
}

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

// LocalCA is the pool of swtpm's local CA certificates, which sign the EK
// certificates NewState creates (standing in for TPM manufacturers' CAs).
func LocalCA(t testing.TB) *x509.CertPool {
	t.Helper()
	dirs := []string{"/var/lib/swtpm-localca"}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".config", "var", "lib", "swtpm-localca"))
	}
	pool := x509.NewCertPool()
	n := 0
	for _, d := range dirs {
		for _, f := range []string{"swtpm-localca-rootca-cert.pem", "issuercert.pem"} {
			b, err := os.ReadFile(filepath.Join(d, f))
			if err != nil {
				continue
			}
			for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
				c, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				pool.AddCert(c)
				n++
			}
		}
		if n > 0 {
			break
		}
	}
	if n == 0 {
		t.Fatal("swtpm's local CA certificates not found")
	}
	return pool
}
