package machine

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/swtpm"
)

func TestTPMEndorsementKey(t *testing.T) {
	state := swtpm.NewState(t)
	sock, stop := swtpm.Start(t, state)
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
	sock, _ = swtpm.Start(t, state) // the same TPM after a restart (a reboot)
	restarted, err := ReadEK(sock)
	if err != nil || restarted != first {
		t.Fatalf("EK changed across a restart: %q vs %q (%v)", restarted, first, err)
	}
	otherSock, _ := swtpm.Start(t, swtpm.NewState(t)) // another TPM
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
	sockA, _ := swtpm.Start(t, swtpm.NewState(t))
	sockB, _ := swtpm.Start(t, swtpm.NewState(t))
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
