// Package testhw holds hardware fixtures shared by the tests of several
// packages: distinct synthetic machines and a copy of a fixture tree that a
// test may edit. Only tests import it.
package testhw

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

// Machine is a distinct synthetic rack server n with full identity: board
// serial, system UUID and serial, two disks, two NICs.
func Machine(n int) *fingerprint.Profile {
	p := &fingerprint.Profile{}
	p.Set(fingerprint.CPU, "GenuineIntel|Xeon Gold 6338")
	p.Set(fingerprint.BoardModel, "Dell Inc.|0PJ7YJ")
	p.Set(fingerprint.BoardSerial, fmt.Sprintf("BRD%07d", n))
	p.Set(fingerprint.SystemUUID, fmt.Sprintf("4c4c4544-0000-0000-0000-%012d", n))
	p.Set(fingerprint.SystemSerial, fmt.Sprintf("SVC%05d", n))
	p.Set(fingerprint.Memory, "64 GiB")
	p.Set(fingerprint.Disks, fmt.Sprintf("wwn:0x5002%012x", 2*n), fmt.Sprintf("wwn:0x5002%012x", 2*n+1))
	p.Set(fingerprint.NICs, fmt.Sprintf("b0:7b:25:%02x:%02x:%02x", n>>16&255, n>>8&255, n&255), fmt.Sprintf("b0:7c:25:%02x:%02x:%02x", n>>16&255, n>>8&255, n&255))
	p.Set(fingerprint.Hostname, fmt.Sprintf("host-%d", n))
	return p
}

// CopyTree copies a fixture tree (files, directories and symlinks) into a
// new temporary directory, for a test that changes files in it.
func CopyTree(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case info.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.IsDir():
			return os.MkdirAll(target, 0o755)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, b, info.Mode().Perm())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
