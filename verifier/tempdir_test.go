package verifier_test

import (
	"os"
	"testing"
)

// tempDir is t.TempDir, except that a directory it cannot remove at the end
// is left behind rather than failing the test: under Wine 8, where the
// Windows test binaries run in CI, Go's os.RemoveAll fails on every file
// ("Invalid function" from NtSetInformationFile), so t.TempDir's cleanup
// would fail tests that have nothing to do with removal.
func tempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "seatkey-verifier-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
