// Package swtpm runs real software TPMs (swtpm, Debian's swtpm and
// swtpm-tools) for tests: each with its own endorsement seed, an EK
// certificate from swtpm's local CA, and a unix socket.
package swtpm

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
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

// Start runs swtpm on a unix socket over state until stop or the test ends.
//
// swtpm creates its socket file before it listens on it, so the file existing
// does not mean the TPM is ready: Start waits until a connection actually
// succeeds, for at most startTimeout, and otherwise fails with the last
// connection error, swtpm's exit status if it died, its stderr and its log.
func Start(t testing.TB, state string) (sock string, stop func()) {
	t.Helper()
	run := t.TempDir()
	sock = filepath.Join(run, "sock")
	logFile := filepath.Join(run, "log")
	cmd := exec.Command("swtpm", "socket", "--tpm2", "--tpmstate", "dir="+state,
		"--server", "type=unixio,path="+sock, "--ctrl", "type=unixio,path="+filepath.Join(run, "ctrl"),
		"--flags", "not-need-init,startup-clear", "--log", "file="+logFile+",level=1")
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("swtpm: %v", err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			<-exited
		}
	}
	t.Cleanup(stop)
	if err := waitListening(sock, exited, startTimeout); err != nil {
		stop()
		if !errors.Is(err, errExited) {
			err = fmt.Errorf("%w (swtpm still running, killed)", err)
		} else {
			err = fmt.Errorf("%w: %v", err, waitErr)
		}
		log, _ := os.ReadFile(logFile)
		t.Fatalf("swtpm not ready on %s: %v\nstderr:\n%s\nlog:\n%s", sock, err, stderr.String(), log)
	}
	return sock, stop
}

// startTimeout bounds how long Start waits for swtpm to listen.
const startTimeout = 5 * time.Second

var errExited = errors.New("swtpm exited")

// waitListening dials the unix socket at path until a connection succeeds,
// with a short backoff, until timeout or until exited is closed. It returns
// nil once a dial succeeded, and otherwise the last dial error.
func waitListening(path string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	backoff := 2 * time.Millisecond
	var last error
	for {
		conn, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		last = err
		select {
		case <-exited:
			return fmt.Errorf("%w before listening (last dial: %v)", errExited, last)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no connection within %v: %w", timeout, last)
		}
		time.Sleep(backoff)
		if backoff < 100*time.Millisecond {
			backoff *= 2
		}
	}
}

// lockedBuffer is a strings.Builder safe to write from exec's copying
// goroutine while a failing test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Open starts a fresh TPM and returns a connection to it, closed when the
// test ends, with its state directory (to restart it with Start).
func Open(t testing.TB) (transport.TPMCloser, string) {
	t.Helper()
	state := NewState(t)
	sock, _ := Start(t, state)
	return Dial(t, sock), state
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
