package issuer

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/license"
)

// TestHelperProcess is not a test: the tests below run the test binary again
// as separate processes that activate requests against one ledger file.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("SEATKEY_HELPER") != "activate" {
		t.Skip("helper process for the multi-process tests")
	}
	l, err := OpenLedger(os.Getenv("SEATKEY_LEDGER"))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	l.Now = func() time.Time { return ledgerNow }
	k := testIssuerKey(t)
	files, _ := filepath.Glob(filepath.Join(os.Getenv("SEATKEY_REQUESTS"), "*.req"))
	sort.Strings(files)
	for _, f := range files {
		b, _ := os.ReadFile(f)
		r, err := l.Activate(k, b)
		switch {
		case err == nil:
			fmt.Println("ok", r.Device, r.Outcome)
		case errors.Is(err, ErrSeatsExhausted):
			fmt.Println("full")
		default:
			fmt.Println("error", err)
		}
	}
	l.Close()
	os.Exit(0)
}

func writeRequests(t *testing.T, tok []byte, dir string, from, n int) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	for i := from; i < from+n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d.req", i)), requestFor(t, tok, syntheticMachine(i), fmt.Sprint("m", i), false), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func helper(ledgerPath, reqDir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), "SEATKEY_HELPER=activate", "SEATKEY_LEDGER="+ledgerPath, "SEATKEY_REQUESTS="+reqDir)
	return cmd
}

// Several processes activating at once on one ledger file never exceed the seats.
func TestMultiProcessActivations(t *testing.T) {
	l, path := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 10, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for p := 0; p < 3; p++ {
		d := filepath.Join(dir, fmt.Sprint(p))
		writeRequests(t, tok, d, p*12, 12)
		cmd := helper(path, d)
		out := &strings.Builder{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, out)
	}
	ok, full := 0, 0
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper %d: %v\n%s", i, err, outs[i])
		}
		for _, line := range strings.Split(outs[i].String(), "\n") {
			switch {
			case strings.HasPrefix(line, "ok "):
				ok++
			case line == "full":
				full++
			case strings.HasPrefix(line, "error"), strings.HasPrefix(line, "open"):
				t.Errorf("helper %d: %s", i, line)
			}
		}
	}
	// Ten seats and one server migration (SPEC 10.4 rule 11), never more.
	if ok != 11 || full != 25 || seatsUsed(t, l, tok) != 10 || migrating(t, l) != 1 {
		t.Fatalf("ok %d, full %d, used %d, migrating %d", ok, full, seatsUsed(t, l, tok), migrating(t, l))
	}
}

// A process killed in the middle of a bulk activation leaves the ledger
// consistent, and running the same requests again completes it exactly.
func TestKilledBulkActivation(t *testing.T) {
	l, path := newLedger(t)
	k := testIssuerKey(t)
	tok := mintFor(t, k, "Globex", 1000, license.Subscription, 0)
	if err := l.RecordLicense(k, tok, LicensePolicy{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const n = 150
	writeRequests(t, tok, dir, 0, n)
	cmd := helper(path, dir)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	done := 0
	for sc.Scan() && done < 40 {
		done++
	}
	cmd.Process.Kill() // SIGKILL, mid-run
	cmd.Wait()
	if !onPostgres { // PostgreSQL has no such check: its WAL replays or nothing was written
		var integrity string
		if err := l.db.QueryRow(`PRAGMA integrity_check`).Scan(&integrity); err != nil || integrity != "ok" {
			t.Fatalf("integrity: %q %v", integrity, err)
		}
	}
	if _, _, err := l.VerifyAudit(); err != nil {
		t.Fatalf("the audit chain after the kill: %v", err)
	}
	var devices, activations, events, orphans int
	l.db.QueryRow(`SELECT COUNT(*) FROM devices`).Scan(&devices)
	l.db.QueryRow(`SELECT COUNT(*) FROM activations`).Scan(&activations)
	l.db.QueryRow(`SELECT COUNT(*) FROM events WHERE kind = 'activated'`).Scan(&events)
	l.db.QueryRow(`SELECT COUNT(*) FROM devices d WHERE NOT EXISTS (SELECT 1 FROM activations a WHERE a.device_id = d.id)`).Scan(&orphans)
	if devices < done || devices >= n || devices != activations || devices != events || orphans != 0 {
		t.Fatalf("after kill: %d printed, devices %d, activations %d, events %d, devices without activation %d", done, devices, activations, events, orphans)
	}
	replayed, fresh := 0, 0
	files, _ := filepath.Glob(filepath.Join(dir, "*.req"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		r, err := l.Activate(k, b)
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome == Replayed {
			replayed++
		} else {
			fresh++
		}
	}
	if replayed != devices || replayed+fresh != n || seatsUsed(t, l, tok) != n {
		t.Fatalf("re-run: replayed %d (want %d), fresh %d, used %d", replayed, devices, fresh, seatsUsed(t, l, tok))
	}
}
