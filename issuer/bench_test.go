package issuer

import (
	"crypto/ed25519"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
)

// Run with: go test ./issuer -run '^$' -bench . -benchtime 20x -count 6
// The million-device ledger is built once (about a minute) and kept in the
// temporary directory; SEATKEY_BENCH_DEVICES changes its size.

// Activating new devices one by one into a fresh, empty ledger (it grows to
// b.N devices: 20 with -benchtime 20x). The million-device ledger is the
// *1M benchmarks'.
func BenchmarkActivate(b *testing.B) {
	l, _ := newLedger(b)
	k := testIssuerKey(b)
	tok := mintFor(b, k, "Globex", 1<<30, license.Subscription, 0)
	reqs := make([][]byte, b.N)
	for i := range reqs {
		reqs[i] = requestFor(b, tok, syntheticMachine(i), "m", false)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r, err := l.Activate(k, reqs[i]); err != nil || r.Outcome != NewDevice {
			b.Fatal(err)
		}
	}
}

// The activation's own signature, for scale.
func BenchmarkActivateBaselineSign(b *testing.B) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	msg := make([]byte, 300)
	b.ReportAllocs()
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

var benchLicense = license.ID{0xbe, 0x4c}

// bigLedger returns a ledger whose one license has n devices, built once.
func bigLedger(b *testing.B) (*Ledger, int) {
	n := 1_000_000
	if s := os.Getenv("SEATKEY_BENCH_DEVICES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	path := filepath.Join(os.TempDir(), benchLedgerName(n)) // keyed by size and schema version
	if _, err := os.Stat(path); err != nil {
		start := time.Now()
		if err := buildBigLedger(path+".tmp", n); err != nil {
			b.Fatal(err)
		}
		os.Rename(path+".tmp", path)
		b.Logf("built %d-device ledger in %v", n, time.Since(start))
	}
	l, err := OpenLedger(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l, n
}

func buildBigLedger(path string, n int) error {
	os.Remove(path)
	l, err := CreateLedger(path)
	if err != nil {
		return err
	}
	defer l.Close()
	k, _ := NewKeyFromSeed(make([]byte, 32))
	return l.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO customers (id, name) VALUES (1, 'Megacorp')`); err != nil {
			return err
		}
		kid := k.ID()
		if _, err := tx.Exec(`INSERT INTO licenses (id, customer_id, product, edition, kind, seats, failover, overage_allowed, overage_price_cents, token, kid, recorded_at)
			VALUES (?, 1, ?, 'pro', 1, ?, 0, 1, 5000, x'00', ?, 0)`, benchLicense[:], product, n, kid[:]); err != nil {
			return err
		}
		dev, err := tx.Prepare(`INSERT INTO devices (id, license_id, label, status, overage, billed_overage, fingerprint, first_activated, last_activated) VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		dig, err := tx.Prepare(`INSERT INTO device_digests (license_id, digest, device_id) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			fp := syntheticMachine(i).Digest(product)
			fpb, _ := fp.MarshalBinary()
			var id activation.DeviceID
			copy(id[:], fmt.Sprintf("dev%013d", i))
			if _, err := dev.Exec(id[:], benchLicense[:], fmt.Sprintf("host-%d", i), i%97 == 0, i%97 == 0, fpb, 1_780_000_000+i, 1_780_000_000+i); err != nil {
				return err
			}
			for _, c := range fingerprint.Components() {
				if c.Class() == fingerprint.Identity {
					for _, d := range fp.Components[c] {
						if _, err := dig.Exec(benchLicense[:], d[:], id[:]); err != nil {
							return err
						}
					}
				}
			}
		}
		return nil
	})
}

// Identifying a device (re-imaged, RAM changed) among the license's devices.
func BenchmarkIdentify1M(b *testing.B) {
	l, n := bigLedger(b)
	fps := make([]*fingerprint.Fingerprint, 64)
	for i := range fps {
		p := syntheticMachine((i * 15485863) % n)
		p.Set(fingerprint.Memory, "256 GiB")
		p.Set(fingerprint.Hostname, "reinstalled")
		fps[i] = p.Digest(product)
	}
	tx, err := l.db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fp := fps[i%len(fps)]
		id, err := l.findDevice(tx, benchLicense, fp, &account{policy: &fingerprint.DefaultPolicy})
		if err != nil || id.best == nil {
			b.Fatal("not found", err)
		}
		// and the look-up of other customers' devices that activation adds
		if others, err := otherCustomersDevices(tx, benchLicense, product, 2, fp); err != nil || len(others) != 0 {
			b.Fatal(others, err)
		}
		i++
	}
}

// A primary-key lookup of one device row, on the same ledger: the floor.
func BenchmarkIdentifyBaselinePointLookup(b *testing.B) {
	l, n := bigLedger(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		var id activation.DeviceID
		copy(id[:], fmt.Sprintf("dev%013d", (i*15485863)%n))
		var fpb []byte
		if err := l.db.QueryRow(`SELECT fingerprint FROM devices WHERE id = ?`, id[:]).Scan(&fpb); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkReportCSV1M(b *testing.B) {
	l, _ := bigLedger(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.WriteDeviceCSV(io.Discard, Filter{}); err != nil {
			b.Fatal(err)
		}
	}
}

// Reading the same rows with the same join and no formatting: the floor.
func BenchmarkReportBaselineScan1M(b *testing.B) {
	l, _ := bigLedger(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.EachDevice(Filter{}, func(*Device) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
