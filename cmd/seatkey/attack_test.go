package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/internal/testhw"
	"github.com/seatkey/seatkey/issuer"
)

// The hostile customer of issue 9, with nothing but the CLI and hardware
// trees made for the attack (--root).

// writeTree writes files (path: content) under a new directory.
func writeTree(t *testing.T, files map[string]string, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range links {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// nicTree is a machine that shows nothing but physical NICs with these MACs.
func nicTree(t *testing.T, macs ...string) string {
	files, links := map[string]string{}, map[string]string{}
	for i, mac := range macs {
		name, pci := fmt.Sprintf("eth%d", i), fmt.Sprintf("0000:%02x:00.0", 0x10+i)
		dev := "sys/devices/pci0000:00/" + pci + "/net/" + name + "/"
		files[dev+"address"] = mac
		files[dev+"addr_assign_type"] = "0"
		files[dev+"mtu"] = "1500"
		files[dev+"operstate"] = "up"
		links["sys/class/net/"+name] = "../../devices/pci0000:00/" + pci + "/net/" + name
	}
	return writeTree(t, files, links)
}

type attackBench struct {
	t   *testing.T
	dir string
	db  string
}

func (a *attackBench) p(s string) string { return filepath.Join(a.dir, s) }

// newAttackBench makes a vendor key and a 1-seat license without overage.
func newAttackBench(t *testing.T) *attackBench { return newAttackBenchSeats(t, 1) }

func newAttackBenchSeats(t *testing.T, seats int) *attackBench {
	a := &attackBench{t: t, dir: t.TempDir()}
	a.db = a.p("ledger.db")
	if r := runCLI(t, nil, "keygen", "--unencrypted", "-o", a.p("v")); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCLI(t, nil, "ledger", "init", "--ledger", a.db); r.code != 0 {
		t.Fatal(r)
	}
	if r := runCLI(t, nil, "mint", "--key", a.p("v.key"), "--product", "ledgerpro", "--customer", "Globex", "--edition", "pro", "--seats", fmt.Sprint(seats),
		"--expires", "2099-01-01", "--ledger", a.db, "--overage", "deny", "--migration-grace", "0", "-o", a.p("l.lic")); r.code != 0 {
		t.Fatalf("mint: %+v", r)
	}
	return a
}

// activate makes a request from the tree and activates it.
func (a *attackBench) activate(name, root string) result {
	a.t.Helper()
	if r := runCLI(a.t, nil, "request", "--license", a.p("l.lic"), "--root", root, "--tpm", "none", "--label", name, "-o", a.p(name+".req")); r.code != 0 {
		a.t.Fatalf("request %s: %+v", name, r)
	}
	return runCLI(a.t, nil, "activate", "--key", a.p("v.key"), "--ledger", a.db, "-o", a.p("acts-"+name), a.p(name+".req"))
}

func (a *attackBench) activation(name string) string {
	acts, _ := filepath.Glob(a.p("acts-" + name + "/*.act"))
	if len(acts) != 1 {
		a.t.Fatalf("activations of %s: %v", name, acts)
	}
	return acts[0]
}

func (a *attackBench) verify(act, root string) result {
	return runCLI(a.t, nil, "verify", "--pub", a.p("v.pub"), "--product", "ledgerpro", "--activation", act, "--root", root, "--tpm", "none", a.p("l.lic"))
}

func (a *attackBench) used() (used, overage int) {
	a.t.Helper()
	r := runCLI(a.t, nil, "report", "--ledger", a.db, "--json")
	var rep struct {
		Summary []struct {
			Used    int `json:"used"`
			Overage int `json:"overage_devices"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Summary) != 1 {
		a.t.Fatalf("report: %v %+v", err, r)
	}
	return rep.Summary[0].Used, rep.Summary[0].Overage
}

const (
	serverMAC1, serverMAC2 = "b0:7b:25:d4:3e:10", "b0:7b:25:d4:3e:11" // machine/testdata/hw/server
	laptopMAC              = "a4:c3:f0:85:1e:6d"                      // machine/testdata/hw/laptop
)

// (a) One seat, overage denied: A (the server) activates, B (the laptop) is
// refused; a tree holding only NICs, A's two and B's one, is refused too,
// and A's activation does not verify on it.
func TestAttackCLINICsOnlyTree(t *testing.T) {
	a := newAttackBench(t)
	if r := a.activate("A", fixtures+"server"); r.code != 0 || !strings.Contains(r.stdout, "new-device") {
		t.Fatalf("A: %+v", r)
	}
	if r := a.activate("B", fixtures+"laptop"); r.code != 1 || !strings.Contains(r.stdout, "seats") {
		t.Fatalf("B honestly: %+v", r)
	}
	crafted := nicTree(t, serverMAC1, serverMAC2, laptopMAC)
	r := a.activate("crafted", crafted)
	if r.code != 1 || !strings.Contains(r.stdout, "refused") || !strings.Contains(r.stdout, "same user as before") || strings.Contains(r.stdout, "same-device") {
		t.Fatalf("NICs-only tree: %+v", r)
	}
	if used, over := a.used(); used != 1 || over != 0 {
		t.Fatalf("report: %d used, %d overage", used, over)
	}
	act := a.activation("A")
	if r := a.verify(act, fixtures+"server"); r.code != 0 {
		t.Fatalf("A on A: %+v", r)
	}
	for name, root := range map[string]string{"the crafted tree": crafted, "B": fixtures + "laptop"} {
		if r := a.verify(act, root); r.code != 1 {
			t.Fatalf("A's activation on %s: %+v", name, r)
		}
	}
	if r := a.verify(act, crafted); !strings.Contains(r.stderr, "cannot be read now") {
		t.Fatalf("the refusal does not say why: %+v", r)
	}
}

// (b) Hidden components: another unit of A's model, run as an unprivileged
// user in a user namespace (no /proc/cpuinfo, no root-only DMI files, no
// TPM) with A's MACs bind-mounted over its own, cannot pass A's activation,
// nor be taken for A by the ledger.
func TestAttackCLIHiddenComponents(t *testing.T) {
	a := newAttackBench(t)
	if r := a.activate("A", fixtures+"server"); r.code != 0 {
		t.Fatalf("A: %+v", r)
	}
	b := copyFixture(t, "server")
	for _, f := range []string{"proc/cpuinfo", "sys/class/dmi/id/board_serial", "sys/class/dmi/id/product_serial", "sys/class/dmi/id/product_uuid"} {
		if err := os.Remove(filepath.Join(b, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, dev := range []string{"b8:0", "b8:16"} { // B's own disks
		p := filepath.Join(b, "run/udev/data", dev)
		u, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, []byte(strings.ReplaceAll(strings.ReplaceAll(string(u), "0x5002538e4090", "0x5002538eb0b0"), "S4EWNX", "ZZB")), 0o644)
	}
	act := a.activation("A")
	r := a.verify(act, b)
	if r.code != 1 || !strings.Contains(r.stderr, "cannot be read now") {
		t.Fatalf("B with hidden components on A's activation: %+v", r)
	}
	r = a.activate("B", b)
	if r.code != 1 || !strings.Contains(r.stdout, "cpu") || !strings.Contains(r.stdout, "same user as before") {
		t.Fatalf("B with hidden components at the ledger: %+v", r)
	}
	if used, _ := a.used(); used != 1 {
		t.Fatalf("%d used", used)
	}
	if r := runCLI(t, nil, "devices", "--ledger", a.db, "--json"); strings.Count(r.stdout, `"id"`) != 1 {
		t.Fatalf("devices: %s", r.stdout)
	}
}

// (c) Decommissioned machines stop: the next revocation list carries their
// activations, and the machines that verify are the seats the report counts.
func TestAttackCLIDecommissionStopsTheMachine(t *testing.T) {
	a := newAttackBench(t)
	if r := a.activate("A", fixtures+"server"); r.code != 0 {
		t.Fatalf("A: %+v", r)
	}
	r := runCLI(t, nil, "devices", "--ledger", a.db, "--json")
	var devs []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &devs); err != nil || len(devs) != 1 {
		t.Fatalf("devices: %v %s", err, r.stdout)
	}
	if r := runCLI(t, nil, "decommission", "--ledger", a.db, devs[0]["id"].(string)); r.code != 0 {
		t.Fatalf("decommission: %+v", r)
	}
	if r := a.activate("B", fixtures+"laptop"); r.code != 0 {
		t.Fatalf("B on the freed seat: %+v", r)
	}
	if r := runCLI(t, nil, "crl", "--key", a.p("v.key"), "--vendor", "Acme", "--ledger", a.db, "-o", a.p("crl")); r.code != 0 {
		t.Fatalf("crl: %+v", r)
	}
	verifyCRL := func(name, root string) result {
		return runCLI(t, nil, "verify", "--pub", a.p("v.pub"), "--product", "ledgerpro", "--activation", a.activation(name), "--root", root, "--tpm", "none",
			"--crl", a.p("crl"), a.p("l.lic"))
	}
	if r := verifyCRL("A", fixtures+"server"); r.code != 1 || !strings.Contains(r.stderr, "superseded") {
		t.Fatalf("the decommissioned server still runs: %+v", r)
	}
	if r := verifyCRL("B", fixtures+"laptop"); r.code != 0 {
		t.Fatalf("the laptop: %+v", r)
	}
	if used, _ := a.used(); used != 1 {
		t.Fatalf("%d used, 1 machine verifies", used)
	}
}

// (d) Showing only NICs, then only disks, cannot make the decommissioned
// server look like a new machine (which would dodge the recommission count).
func TestAttackCLIAlternatingShapes(t *testing.T) {
	a := newAttackBench(t)
	if r := a.activate("A", fixtures+"server"); r.code != 0 {
		t.Fatalf("A: %+v", r)
	}
	var devs []map[string]any
	json.Unmarshal([]byte(runCLI(t, nil, "devices", "--ledger", a.db, "--json").stdout), &devs)
	if len(devs) != 1 {
		t.Fatalf("devices: %v", devs)
	}
	if r := runCLI(t, nil, "decommission", "--ledger", a.db, devs[0]["id"].(string)); r.code != 0 {
		t.Fatalf("decommission: %+v", r)
	}
	disksOnly := copyFixture(t, "server")
	for _, d := range []string{"proc/cpuinfo", "sys/class/dmi", "sys/class/net", "sys/devices/pci0000:00"} {
		os.RemoveAll(filepath.Join(disksOnly, d))
	}
	for name, root := range map[string]string{"nics": nicTree(t, serverMAC1, serverMAC2), "disks": disksOnly} {
		if r := a.activate(name, root); r.code != 1 || !strings.Contains(r.stdout, "same user as before") {
			t.Fatalf("%s only: %+v", name, r)
		}
	}
	if r := a.activate("A-again", fixtures+"server"); r.code != 0 || !strings.Contains(r.stdout, "recommissioned") {
		t.Fatalf("A back: %+v", r)
	}
	r := runCLI(t, nil, "devices", "--ledger", a.db, "--json")
	if err := json.Unmarshal([]byte(r.stdout), &devs); err != nil || len(devs) != 1 || devs[0]["recommissions"] != 1.0 {
		t.Fatalf("devices after: %v %s", err, r.stdout)
	}
}

// (f) The server's identity with the laptop's NIC added: refused, and the
// vendor's operators hear of it.
func TestAttackCLIIdentityConflict(t *testing.T) {
	a := newAttackBenchSeats(t, 3)
	if r := a.activate("A", fixtures+"server"); r.code != 0 {
		t.Fatalf("A: %+v", r)
	}
	if r := a.activate("B", fixtures+"laptop"); r.code != 0 {
		t.Fatalf("B: %+v", r)
	}
	merged := copyFixture(t, "server")
	dev := "sys/devices/pci0000:00/0000:09:00.0/net/eth9/"
	for f, v := range map[string]string{"address": laptopMAC, "addr_assign_type": "0", "mtu": "1500", "operstate": "up"} {
		os.MkdirAll(filepath.Join(merged, dev), 0o755)
		os.WriteFile(filepath.Join(merged, dev, f), []byte(v+"\n"), 0o644)
	}
	os.Symlink("../../devices/pci0000:00/0000:09:00.0/net/eth9", filepath.Join(merged, "sys/class/net/eth9"))
	r := a.activate("merged", merged)
	if r.code != 1 || !strings.Contains(r.stdout, "shares hardware identity") {
		t.Fatalf("merged identity: %+v", r)
	}
	if used, _ := a.used(); used != 2 {
		t.Fatalf("%d used", used)
	}
	l, err := issuer.OpenLedger(a.db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	notes, _ := l.Notifications(true)
	if len(notes) == 0 || notes[len(notes)-1].Kind != "identity-conflict" {
		t.Fatalf("no identity-conflict notification: %+v", notes)
	}
}

// copyFixture copies a fixture tree so that the attack can edit it.
func copyFixture(t *testing.T, name string) string { return testhw.CopyTree(t, fixtures+name) }
