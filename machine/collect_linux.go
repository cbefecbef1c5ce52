package machine

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jaypipes/ghw"
	"github.com/jaypipes/ghw/pkg/block"

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/snapshot"
)

// collectOS reads a Linux machine, or a tree or snapshot of one under o.Root.
func collectOS(o Options) (*fingerprint.Profile, error) {
	root := o.Root
	if strings.HasSuffix(root, ".tar.gz") || strings.HasSuffix(root, ".tgz") {
		dir, err := os.MkdirTemp("", "seatkey-snapshot-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if err := snapshot.UnpackFile(root, dir); err != nil { // our extractor: ghw checks names only lexically
			return nil, fmt.Errorf("machine: snapshot %s: %w", root, err)
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
	switch {
	case o.TPM == "none":
		p.Notes = append(p.Notes, "TPM disabled")
	case o.TPM == "" && root != "":
		p.Notes = append(p.Notes, "no TPM read under an alternate root")
	case o.TPM == "":
		if _, err := os.Stat(DefaultTPMDevice); err != nil {
			p.Notes = append(p.Notes, "no TPM: "+DefaultTPMDevice+" not present")
			break
		}
		collectTPM(p, DefaultTPMDevice, false)
	default:
		if err := collectTPM(p, o.TPM, true); err != nil {
			return nil, err
		}
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
