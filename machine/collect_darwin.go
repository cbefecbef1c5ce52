package machine

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/seatkey/seatkey/fingerprint"
)

// collectOS reads this Mac by running the commands a macOS record holds the
// outputs of (darwin.go), then parses them as a record. No cgo.
func collectOS(o Options) (*fingerprint.Profile, error) {
	if o.Root != "" {
		return nil, fmt.Errorf("machine: %s: on macOS, Root must be a recorded machine (.json, or a macOS record)", o.Root)
	}
	if o.TPM != "" && o.TPM != "none" {
		return nil, fmt.Errorf("%w: %s: Macs have no TPM", ErrTPM, o.TPM)
	}
	out := darwinOutputs{}
	var notes []string
	run := func(file string, name string, args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := exec.CommandContext(ctx, name, args...).Output()
		out[file] += string(b)
		if err != nil && len(b) == 0 {
			return fmt.Errorf("%s %s: %v", name, strings.Join(args, " "), err)
		}
		return nil
	}
	note := func(err error) {
		if err != nil {
			notes = append(notes, err.Error())
		}
	}
	note(run(darwinPlatformFile, "/usr/sbin/ioreg", "-rd1", "-c", "IOPlatformExpertDevice"))
	for _, name := range []string{"machdep.cpu.vendor", "machdep.cpu.brand_string", "hw.memsize", "kern.hostname"} {
		// One at a time: Apple silicon has no machdep.cpu.vendor, and a name
		// sysctl does not know is simply absent.
		run(darwinSysctlFile, "/usr/sbin/sysctl", name)
	}
	note(run(darwinNVMeFile, "/usr/sbin/ioreg", "-rd1", "-c", "IONVMeController"))
	note(run(darwinAHCIFile, "/usr/sbin/ioreg", "-rd1", "-c", "IOAHCIBlockStorageDevice"))
	note(run(darwinPortsFile, "/usr/sbin/networksetup", "-listallhardwareports"))
	run(darwinADFile, "/usr/sbin/dsconfigad", "-show") // fails on a Mac bound to no directory
	p := profileFromDarwin(out)
	p.Notes = append(p.Notes, notes...)
	return p, nil
}
