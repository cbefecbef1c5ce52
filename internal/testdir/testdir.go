// Package testdir gives tests a temporary directory that works under Wine.
package testdir

import (
	"os"
	"testing"
)

// New is t.TempDir, except that a directory it cannot remove at the end is
// left behind rather than failing the test: under Wine 8, where the Windows
// test binaries run in CI, Go's os.RemoveAll fails on files ("Invalid
// function" from NtSetInformationFile, or from unlinkat after a hard link),
// so t.TempDir's cleanup would fail tests that have nothing to do with
// removal.
func New(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "seatkey-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
