package pgtest

import "syscall"

type credential struct{ uid, gid uint32 }

// sysProcAttr runs the server as cred (when the tests run as root) and
// kills it if the test binary dies without stopping it.
func sysProcAttr(cred *credential) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if cred != nil {
		a.Credential = &syscall.Credential{Uid: cred.uid, Gid: cred.gid}
	}
	return a
}
