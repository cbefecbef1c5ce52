//go:build !linux

package pgtest

import "syscall"

type credential struct{ uid, gid uint32 }

// sysProcAttr: the PostgreSQL tests run on Linux (CI's platform); elsewhere
// the server runs as the user running the tests.
func sysProcAttr(*credential) *syscall.SysProcAttr { return nil }
