// Package machine reads this machine's hardware profile (package fingerprint
// defines it): the only seatkey code that touches hardware. A vendor
// application that only verifies never imports it.
//
// Each operating system has its own reader: Linux through ghw (sysfs, procfs,
// the udev database) and the TPM device, Windows through WMI, the registry and
// the TPM Base Services, macOS through sysctl, ioreg and networksetup. The
// Windows and macOS readers record raw query results first and turn them into
// a Profile with pure functions, so recorded results from any machine (the
// fixtures in testdata/windows and testdata/darwin) read the same on every OS.
package machine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/seatkey/seatkey/fingerprint"
)

// Options say where Collect reads from.
type Options struct {
	// Root is empty (this machine) or recorded hardware to read instead:
	// a Windows WMI record (a .json file, read on any OS), a macOS record
	// (a directory holding ioreg-platform.txt, read on any OS), or, on Linux
	// only, a sysfs/procfs/udev tree as ghw reads it or a ghw snapshot
	// (.tar.gz, .tgz).
	Root string
	// TPM is "" (this machine's TPM if there is one: /dev/tpmrm0 on Linux,
	// the TPM Base Services on Windows; never read for a Root), "none", or,
	// on Linux only, a TPM character device or the unix socket of a TPM
	// simulator such as swtpm.
	TPM string
}

// ErrTPM is returned when a TPM that was asked for by path cannot be read.
var ErrTPM = errors.New("cannot read the TPM endorsement key")

// ErrRecord is returned for a Windows or macOS record that cannot be read.
var ErrRecord = errors.New("machine: unreadable hardware record")

// DefaultTPMDevice is the Linux kernel's TPM resource manager.
const DefaultTPMDevice = "/dev/tpmrm0"

// Collect reads this machine's (or Root's) profile. What cannot be read is
// absent, with a note saying why; only a TPM named explicitly must work.
func Collect(o Options) (*fingerprint.Profile, error) {
	switch kind, err := recordKind(o.Root); {
	case err != nil:
		return nil, err
	case kind == kindWindows:
		return collectRecordFile(o, readWMIRecord)
	case kind == kindDarwin:
		return collectRecordFile(o, readDarwinRecord)
	}
	return collectOS(o)
}

type rootKind int

const (
	kindNone rootKind = iota
	kindWindows
	kindDarwin
)

// recordKind says whether root names a Windows or macOS record.
func recordKind(root string) (rootKind, error) {
	if root == "" {
		return kindNone, nil
	}
	if strings.EqualFold(filepath.Ext(root), ".json") {
		return kindWindows, nil
	}
	if st, err := os.Stat(filepath.Join(root, darwinPlatformFile)); err == nil && st.Mode().IsRegular() {
		return kindDarwin, nil
	}
	if runtime.GOOS != "linux" {
		return kindNone, fmt.Errorf("machine: %s is neither a Windows record (.json) nor a macOS record (no %s); Linux trees and snapshots are read on Linux only", root, darwinPlatformFile)
	}
	return kindNone, nil
}

func collectRecordFile(o Options, read func(string) (*fingerprint.Profile, error)) (*fingerprint.Profile, error) {
	p, err := read(o.Root)
	if err != nil {
		return nil, err
	}
	switch o.TPM {
	case "", "none":
		p.Notes = append(p.Notes, "no TPM read for a recorded machine")
	default:
		return nil, fmt.Errorf("%w: a recorded machine has no TPM to read at %s", ErrTPM, o.TPM)
	}
	return p, nil
}

// maxRecord bounds a record file: real ones are a few kilobytes.
const maxRecord = 1 << 20

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRecord, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecord+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRecord, path, err)
	}
	if len(b) > maxRecord {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrRecord, path, maxRecord)
	}
	return b, nil
}

// collectTPM adds the EK of the TPM at path (as ReadEK takes it) to p, or a
// note saying why there is none. explicit: the caller named the TPM, so
// failing to read it is an error.
func collectTPM(p *fingerprint.Profile, path string, explicit bool) error {
	ek, err := ReadEK(path)
	if err != nil {
		if explicit {
			return err
		}
		p.Notes = append(p.Notes, "no TPM: "+err.Error())
		return nil
	}
	p.Set(fingerprint.TPMEK, ek)
	return nil
}

// gib renders a byte count rounded to whole GiB as "<n> GiB" ("" for none),
// the form of the memory component on every OS.
func gib(bytes uint64) string {
	g := (bytes + 1<<29) >> 30
	if g == 0 {
		return ""
	}
	return strconv.FormatUint(g, 10) + " GiB"
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

// canonicalMAC returns a MAC address as six lower-case, colon-separated
// bytes, whatever separators (":", "-", ".", none) and case it came in; ""
// if it is not a 48-bit address.
func canonicalMAC(s string) string {
	s = strings.NewReplacer(":", "", "-", "", ".", "", " ", "").Replace(strings.TrimSpace(s))
	if len(s) != 12 {
		return ""
	}
	s = strings.ToLower(s)
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if !isHex(s[i]) || !isHex(s[i+1]) {
			return ""
		}
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(s[i : i+2])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
