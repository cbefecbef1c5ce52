// Package machine reads this machine's hardware profile (package fingerprint
// defines it) through ghw and the TPM: the only seatkey code that touches
// hardware. A vendor application that only verifies never imports it.
package machine

import (
	"errors"
	"fmt"
	"github.com/seatkey/seatkey/fingerprint"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/ghw/pkg/block"
	"github.com/seatkey/seatkey/internal/snapshot"
)

// Options say where Collect reads from.
type Options struct {
	// Root is an alternate root holding a sysfs/procfs/udev tree as ghw reads
	// it, or a ghw snapshot (.tar.gz, .tgz). Empty: this machine.
	Root string
	// TPM is "" (this machine's /dev/tpmrm0 if there is one; never under
	// Root), "none", a TPM character device, or the unix socket of a TPM
	// simulator such as swtpm.
	TPM string
}

// ErrTPM is returned when a TPM that was asked for by path cannot be read.
var ErrTPM = errors.New("cannot read the TPM endorsement key")

// DefaultTPMDevice is the kernel's TPM resource manager.
const DefaultTPMDevice = "/dev/tpmrm0"

// Collect reads this machine's (or Root's) profile. What cannot be read is
// absent, with a note saying why; only a TPM named explicitly must work.
func Collect(o Options) (*fingerprint.Profile, error) {
	root := o.Root
	if strings.HasSuffix(root, ".tar.gz") || strings.HasSuffix(root, ".tgz") {
		dir, err := os.MkdirTemp("", "seatkey-snapshot-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if err := snapshot.UnpackFile(root, dir); err != nil { // our extractor: ghw checks names only lexically
			return nil, fmt.Errorf("fingerprint: snapshot %s: %w", root, err)
		}
		root = dir
	}
	p := &fingerprint.Profile{}
	opts := []any{ghw.WithDisableWarnings(), ghw.WithDisableTools(), ghw.WithDisableTopology()}
	if root != "" {
		opts = append(opts, ghw.WithChroot(root))
	}
	collectHardware(p, opts)
	p.Set(fingerprint.Memory, memoryGiB(root))
	collectSoftware(p, root)
	if root == "" && os.Geteuid() != 0 {
		p.Notes = append(p.Notes, "not running as root: board serial, system serial and system UUID are unreadable")
	}
	tpmPath := o.TPM
	switch {
	case tpmPath == "none":
		p.Notes = append(p.Notes, "TPM disabled")
	case tpmPath == "" && root != "":
		p.Notes = append(p.Notes, "no TPM read under an alternate root")
	case tpmPath == "":
		if _, err := os.Stat(DefaultTPMDevice); err != nil {
			p.Notes = append(p.Notes, "no TPM: "+DefaultTPMDevice+" not present")
			break
		}
		ek, err := ReadEK(DefaultTPMDevice)
		if err != nil {
			p.Notes = append(p.Notes, "no TPM: "+err.Error())
			break
		}
		p.Set(fingerprint.TPMEK, ek)
	default:
		ek, err := ReadEK(tpmPath)
		if err != nil {
			return nil, err
		}
		p.Set(fingerprint.TPMEK, ek)
	}
	if err := setPlatform(p, root); err != nil {
		return nil, err
	}
	return p, nil
}

func collectHardware(p *fingerprint.Profile, opts []any) {
	if cpu, err := ghw.CPU(opts...); err == nil {
		var models []string
		for _, pr := range cpu.Processors {
			models = append(models, pr.Vendor+"|"+pr.Model)
		}
		p.Set(fingerprint.CPU, models...)
	} else {
		p.Notes = append(p.Notes, "processor unreadable: "+err.Error())
	}
	if bb, err := ghw.Baseboard(opts...); err == nil {
		p.Set(fingerprint.BoardModel, pair(bb.Vendor, bb.Product))
		p.Set(fingerprint.BoardSerial, bb.SerialNumber)
	}
	if pr, err := ghw.Product(opts...); err == nil {
		p.Set(fingerprint.SystemUUID, pr.UUID)
		p.Set(fingerprint.SystemSerial, pr.SerialNumber)
	}
	if bios, err := ghw.BIOS(opts...); err == nil {
		p.Set(fingerprint.BIOS, join3(bios.Vendor, bios.Version, bios.Date))
	}
	if blk, err := ghw.Block(opts...); err == nil {
		var ids []string
		for _, d := range blk.Disks {
			if id := diskID(d); id != "" {
				ids = append(ids, id)
			}
		}
		p.Set(fingerprint.Disks, ids...)
	}
	if nw, err := ghw.Network(opts...); err == nil {
		var macs []string
		for _, n := range nw.NICs {
			if !n.IsVirtual && n.MACAddress != "" {
				macs = append(macs, n.MACAddress)
			}
		}
		p.Set(fingerprint.NICs, macs...)
	}
}

// diskID identifies a fixed physical disk by WWN, else by serial; removable,
// optical, loop and virtual devices are not part of the machine.
func diskID(d *block.Disk) string {
	if d.IsRemovable || (d.DriveType != block.DriveTypeHDD && d.DriveType != block.DriveTypeSSD) {
		return ""
	}
	if w := fingerprint.Normalize(fingerprint.Disks, d.WWN); w != "" {
		return "wwn:" + strings.ToLower(w)
	}
	if s := fingerprint.Normalize(fingerprint.Disks, d.SerialNumber); s != "" {
		return "sn:" + strings.ToUpper(s)
	}
	return ""
}

// pair joins a vendor and a model, absent when the model is absent.
func pair(vendor, model string) string {
	if fingerprint.Normalize(fingerprint.BoardModel, model) == "" {
		return ""
	}
	return fingerprint.Normalize(fingerprint.BoardModel, vendor) + "|" + model
}

func join3(a, b, c string) string {
	if fingerprint.Normalize(fingerprint.BIOS, b) == "" {
		return ""
	}
	return a + "|" + b + "|" + c
}

func collectSoftware(p *fingerprint.Profile, root string) {
	read := func(path string) string {
		b, err := os.ReadFile(filepath.Join(root, path))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	host := read("/proc/sys/kernel/hostname")
	if host == "" {
		host = read("/etc/hostname")
	}
	if host == "" && root == "" {
		host, _ = os.Hostname()
	}
	p.Set(fingerprint.Hostname, host)
	domain := read("/proc/sys/kernel/domainname")
	if fingerprint.Normalize(fingerprint.Domain, domain) == "" {
		domain = ""
		if _, d, ok := strings.Cut(host, "."); ok {
			domain = d
		}
	}
	if domain == "" {
		for _, line := range strings.Split(read("/etc/krb5.conf"), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && strings.TrimSpace(k) == "default_realm" {
				domain = strings.TrimSpace(v)
			}
		}
	}
	p.Set(fingerprint.Domain, domain)
	p.Set(fingerprint.MachineID, read("/etc/machine-id"))
}

// memoryGiB is MemTotal from /proc/meminfo rounded to whole GiB, so the
// memory the kernel reserves (which differs between kernels) changes nothing.
// ghw's memory reader walks every sysfs memory block: half of Collect's time.
func memoryGiB(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "/proc/meminfo"))
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil || kb <= 0 {
				return ""
			}
			gib := (kb + 1<<19) >> 20
			if gib == 0 {
				return ""
			}
			return strconv.FormatInt(gib, 10) + " GiB"
		}
	}
	return ""
}
