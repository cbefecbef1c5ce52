package machine

import (
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

	"github.com/seatkey/seatkey/fingerprint"
)

// needSWTPM skips without swtpm, except under CI, which installs it and must run these tests.
func needSWTPM(t testing.TB) {
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

// newTPMState provisions a fresh software TPM (its own endorsement seed) in a directory.
func newTPMState(t testing.TB) string {
	t.Helper()
	needSWTPM(t)
	dir := t.TempDir()
	args := []string{"--tpm2", "--tpmstate", dir, "--create-ek-cert", "--create-platform-cert", "--overwrite"}
	if os.Geteuid() != 0 {
		args = append(args, "--create-config-files", "skip-if-exist") // root uses the system's configuration
	}
	out, err := exec.Command("swtpm_setup", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("swtpm_setup: %v\n%s", err, out)
	}
	return dir
}

// startTPM runs swtpm on a unix socket over state until stop or the test ends.
//
// swtpm creates its socket file before it listens on it, so the file existing
// does not mean the TPM is ready: startTPM waits until a connection actually
// succeeds, for at most tpmStartTimeout, and otherwise fails with the last
// connection error, swtpm's exit status if it died, its stderr and its log.
func startTPM(t testing.TB, state string) (sock string, stop func()) {
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
	if err := waitListening(sock, exited, tpmStartTimeout); err != nil {
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

// tpmStartTimeout bounds how long startTPM waits for swtpm to listen.
const tpmStartTimeout = 5 * time.Second

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

func TestTPMEndorsementKey(t *testing.T) {
	state := newTPMState(t)
	sock, stop := startTPM(t, state)
	first, err := ReadEK(sock)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(first, "rsa:") || len(first) != 4+64 {
		t.Fatalf("EK identity %q", first)
	}
	again, err := ReadEK(sock)
	if err != nil || again != first {
		t.Fatalf("second read on the same TPM: %q %v", again, err)
	}
	stop()
	sock, _ = startTPM(t, state) // the same TPM after a restart (a reboot)
	restarted, err := ReadEK(sock)
	if err != nil || restarted != first {
		t.Fatalf("EK changed across a restart: %q vs %q (%v)", restarted, first, err)
	}
	otherSock, _ := startTPM(t, newTPMState(t)) // another TPM
	other, err := ReadEK(otherSock)
	if err != nil || other == first {
		t.Fatalf("two TPMs gave the same EK identity (%v)", err)
	}
}

// The TPM takes part in Collect and decides identity: the same fixture
// hardware with another TPM (a motherboard with firmware TPM replaced) is a
// new device; with the same TPM it is the same device.
func TestTPMInCollectAndMatch(t *testing.T) {
	dir := t.TempDir()
	if err := rackServer.write(dir); err != nil {
		t.Fatal(err)
	}
	sockA, _ := startTPM(t, newTPMState(t))
	sockB, _ := startTPM(t, newTPMState(t))
	collect := func(sock string) *fingerprint.Fingerprint {
		p, err := Collect(Options{Root: dir, TPM: sock})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Values[fingerprint.TPMEK]) != 1 {
			t.Fatalf("no TPM component: %v", p.Notes)
		}
		return p.Digest(scope)
	}
	a, a2, b := collect(sockA), collect(sockA), collect(sockB)
	if r := fingerprint.Match(a, a2, &fingerprint.DefaultPolicy); !r.Same || r.Components[fingerprint.TPMEK-1].Status != fingerprint.Matched {
		t.Fatalf("same TPM: %s", r.String())
	}
	r := fingerprint.Match(a, b, &fingerprint.DefaultPolicy)
	if r.Same || !strings.Contains(r.Reason(), "tpm-ek changed") {
		t.Fatalf("other TPM: %s", r.String())
	}
	if _, err := Collect(Options{Root: dir, TPM: filepath.Join(dir, "no-such-tpm")}); err == nil {
		t.Fatal("a TPM named explicitly that cannot be read must be an error")
	}
}

// The readiness wait itself: a socket path nobody listens on is refused until
// the timeout, with the dial error in the message; a listener that appears
// late is found.
func TestTPMHelperWaitListening(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sock")
	if err := os.WriteFile(path, nil, 0o600); err != nil { // exists, but nothing listens
		t.Fatal(err)
	}
	err := waitListening(path, nil, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("a file nobody listens on: %v", err)
	}
	exited := make(chan struct{})
	close(exited)
	if err := waitListening(path, exited, time.Minute); !errors.Is(err, errExited) {
		t.Fatalf("server gone: %v", err)
	}
	os.Remove(path)
	ready := make(chan net.Listener, 1)
	go func() {
		time.Sleep(30 * time.Millisecond) // a server that starts listening late
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Error(err)
		}
		ready <- l
	}()
	if err := waitListening(path, nil, 5*time.Second); err != nil {
		t.Fatalf("late listener: %v", err)
	}
	if l := <-ready; l != nil {
		l.Close()
	}
}
