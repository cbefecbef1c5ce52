package verifier_test

import (
	"testing"

	"github.com/seatkey/seatkey/internal/testdir"
)

// tempDir is a temporary directory that works under Wine (internal/testdir).
func tempDir(t testing.TB) string { return testdir.New(t) }
