package machine

import (
	"github.com/seatkey/seatkey/fingerprint"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
func startTPM(t testing.TB, state string) (sock string, stop func()) {
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
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cmd.Process.Kill()
			cmd.Wait()
		}
	}
	t.Cleanup(stop)
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock, stop
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	t.Fatalf("swtpm did not open its socket: %s", stderr.String())
	return "", nil
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
