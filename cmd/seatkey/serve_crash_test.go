package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/client"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// startServe runs the seatkey binary's serve on addr and returns the
// process and its URL once it listens.
func startServe(t *testing.T, bin, db, key, addr string) (*exec.Cmd, string) {
	cmd, url, _ := startServeLog(t, bin, db, key, addr)
	return cmd, url
}

// startServeLog is startServe that also keeps the server's log.
func startServeLog(t *testing.T, bin, db, key, addr string) (*exec.Cmd, string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--ledger", db, "--key", key, "--listen", addr)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	log := &syncBuffer{}
	go func() {
		re := regexp.MustCompile(`url=(http://\S+)`)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			fmt.Fprintln(log, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(log, stderr)
	}()
	select {
	case u := <-urls:
		return cmd, u, log
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("seatkey serve did not start")
	}
	return nil, "", nil
}

// The server is killed with SIGKILL in the middle of a burst of online
// activations (half the clients have sent, the rest send to a dead server)
// and started again on the same ledger. Every client's retries
// complete, and every seat is accounted for exactly once: each client that
// was answered holds a device the ledger has, no device exists that no client
// was answered for, and the seats are not exceeded.
func TestServeKilledMidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the seatkey binary")
	}
	const clients, seats = 40, 30
	db := filepath.Join(t.TempDir(), "ledger.db")
	bin, keyFile, lic := serveRig(t, db, seats)

	cmd, url := startServe(t, bin, db, keyFile, "127.0.0.1:0")
	addr := url[len("http://"):]
	load := startDevices(t, lic, clients, 20*time.Millisecond, url)
	load.waitSent(clients / 2)
	cmd.Process.Kill() // SIGKILL: no shutdown, requests in flight are cut
	cmd.Wait()
	killedAt, sentAt := load.answered.Load(), load.sent.Load()
	cmd2, _ := startServe(t, bin, db, keyFile, addr)
	defer func() { cmd2.Process.Kill(); cmd2.Wait() }()
	granted, refused := load.account(t, db, seats)
	t.Logf("killed when %d of %d clients had sent and %d were answered; all completed: %d granted, %d seats_exhausted", sentAt, clients, killedAt, granted, refused)
}

// serveRig builds the seatkey binary, makes the ledger at db (a file or a
// postgres:// URL) with its 'ledger init', writes a vendor key, and records
// a license of seats without server migrations, so the seats alone decide.
// It returns the binary, the key file and the license.
func serveRig(t *testing.T, db string, seats int) (bin, keyFile string, lic []byte) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("go tool not found")
		}
		t.Skip("go tool not found: cannot build the seatkey binary")
	}
	dir := t.TempDir()
	bin = filepath.Join(dir, "seatkey")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "ledger", "init", "--ledger", db).CombinedOutput(); err != nil {
		t.Fatalf("ledger init: %v\n%s", err, out)
	}
	keyPath := filepath.Join(dir, "v")
	key, _ := issuer.GenerateKey()
	if err := issuer.WriteKeyFiles(keyPath, key, nil, issuer.DefaultKDF); err != nil {
		t.Fatal(err)
	}
	lic, _ = key.Mint(license.Claims{Vendor: "Acme", Customer: "Globex", Product: "ledgerpro", Edition: "pro", Seats: seats,
		Kind: license.Subscription, IssuedAt: time.Now().Add(-time.Hour), Expires: time.Now().AddDate(1, 0, 0)})
	l, err := issuer.OpenLedger(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.RecordLicense(key, lic, issuer.LicensePolicy{MigrationGrace: -1}); err != nil {
		t.Fatal(err)
	}
	return bin, keyPath + ".key", lic
}

// deviceLoad is a fleet of devices, each activating once through its own
// client (its own connections, retries with backoff) against one URL, their
// starts spread over time so that faults land in the middle.
type deviceLoad struct {
	sent, answered atomic.Int32
	devices        []string
	errs           []error
	wg             sync.WaitGroup
}

func startDevices(t *testing.T, lic []byte, clients int, spread time.Duration, url string) *deviceLoad {
	t.Helper()
	d := &deviceLoad{devices: make([]string, clients), errs: make([]error, clients)}
	for i := 0; i < clients; i++ {
		p := &fingerprint.Profile{}
		p.Set(fingerprint.SystemUUID, fmt.Sprintf("4c4c4544-0000-0000-0000-%012d", i))
		p.Set(fingerprint.BoardSerial, fmt.Sprintf("BRD%07d", i))
		p.Set(fingerprint.SystemSerial, fmt.Sprintf("SVC%05d", i))
		p.Set(fingerprint.Disks, fmt.Sprintf("wwn:0x5002%012x", i))
		req, err := activation.NewRequest(lic, p.Digest("ledgerpro"), fmt.Sprintf("host-%d", i), false)
		if err != nil {
			t.Fatal(err)
		}
		c := &client.Client{BaseURL: url, HTTP: &http.Client{Transport: &http.Transport{}},
			Attempts: 300, Backoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Timeout: 5 * time.Second}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			time.Sleep(time.Duration(i) * spread)
			d.sent.Add(1)
			a, err := c.Activate(context.Background(), req)
			if err == nil {
				d.devices[i] = a.Device
			}
			d.errs[i] = err
			d.answered.Add(1)
		}()
	}
	return d
}

// waitSent waits until n devices have sent their request.
func (d *deviceLoad) waitSent(n int) {
	for d.sent.Load() < int32(n) {
		time.Sleep(time.Millisecond)
	}
}

// account waits for every device, then checks that every seat of the
// ledger at db is accounted for exactly once: each device that was granted
// one holds a device the ledger has, no two got the same, the ledger has no
// device no client was given, the seats are all taken and every other
// device was told seats_exhausted. It returns the counts.
func (d *deviceLoad) account(t *testing.T, db string, seats int) (granted, refused int) {
	t.Helper()
	d.wg.Wait()
	got := map[string]bool{}
	for i, err := range d.errs {
		var ae *client.Error
		switch {
		case err == nil:
			if got[d.devices[i]] {
				t.Errorf("two clients got device %s", d.devices[i])
			}
			got[d.devices[i]] = true
		case errors.As(err, &ae) && ae.Code == "seats_exhausted":
			refused++
		default:
			t.Errorf("client %d: %v", i, err)
		}
	}
	l, err := issuer.OpenLedger(db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	inLedger := 0
	l.EachDevice(issuer.Filter{}, func(dev *issuer.Device) error {
		inLedger++
		if !got[dev.ID.String()] {
			t.Errorf("device %s holds a seat no client was given", dev.ID)
		}
		return nil
	})
	if inLedger != len(got) || len(got) != seats || refused != len(d.errs)-seats {
		t.Fatalf("%d devices in the ledger, %d granted, %d refused (seats %d, clients %d)", inLedger, len(got), refused, seats, len(d.errs))
	}
	if _, _, err := l.VerifyAudit(); err != nil {
		t.Fatalf("audit chain: %v", err)
	}
	return len(got), refused
}
