package machine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seatkey/seatkey/fingerprint"
)

// A record handed to Collect is read strictly, and a bad one is refused with
// ErrRecord: a field the reader does not know, trailing data, an oversized
// file; a leading BOM is fine.
func TestRecordStrictness(t *testing.T) {
	good, err := os.ReadFile("testdata/windows/server.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data string
		ok   bool
	}{
		{"as committed", string(good), true},
		{"with a BOM", "\xef\xbb\xbf" + string(good), true},
		{"unknown field", strings.Replace(string(good), `"MachineGuid"`, `"MachineGUID2": "x", "MachineGuid"`, 1), false},
		{"trailing data", string(good) + `{"Win32_Processor": []}`, false},
		{"not JSON", "Win32_Processor: Intel", false},
		{"oversized", `{"MachineGuid": "` + strings.Repeat("a", maxRecord) + `"}`, false},
		{"wrong type", `{"Win32_ComputerSystem": [{"TotalPhysicalMemory": "lots"}]}`, false},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "rec.json")
		if err := os.WriteFile(path, []byte(tc.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Collect(Options{Root: path})
		if tc.ok && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, ErrRecord) {
			t.Errorf("%s: got %v, want ErrRecord", tc.name, err)
		}
	}
	if _, err := Collect(Options{Root: filepath.Join(t.TempDir(), "missing.json")}); !errors.Is(err, ErrRecord) {
		t.Errorf("missing record: %v", err)
	}
	if _, err := Collect(Options{Root: "testdata/windows/server.json", TPM: "/dev/tpmrm0"}); !errors.Is(err, ErrTPM) {
		t.Errorf("a TPM path for a recorded machine: %v", err)
	}
}

// Whatever WMI returns, the reader neither panics nor records values that
// are not normalised.
func FuzzWMIRecord(f *testing.F) {
	for _, name := range []string{"server", "laptop-2008", "vm"} {
		b, err := os.ReadFile(filepath.Join("testdata", "windows", name+".json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := parseWMIRecord(b)
		if err != nil {
			return
		}
		checkNormalised(t, profileFromWMI(rec))
	})
}

func FuzzDarwinOutputs(f *testing.F) {
	for _, name := range []string{"macbook-m2", "imac-intel"} {
		var in [4]string
		for i, file := range []string{darwinPlatformFile, darwinSysctlFile, darwinNVMeFile + "", darwinPortsFile} {
			b, err := os.ReadFile(filepath.Join("testdata", "darwin", name, file))
			if err != nil {
				f.Fatal(err)
			}
			in[i] = string(b)
		}
		f.Add(in[0], in[1], in[2], in[3])
	}
	f.Fuzz(func(t *testing.T, platform, sysctl, storage, ports string) {
		p := profileFromDarwin(darwinOutputs{darwinPlatformFile: platform, darwinSysctlFile: sysctl, darwinNVMeFile: storage, darwinPortsFile: ports, darwinADFile: sysctl})
		checkNormalised(t, p)
	})
}

func checkNormalised(t *testing.T, p *fingerprint.Profile) {
	t.Helper()
	for c, vs := range p.Values {
		if len(vs) == 0 || !c.IsSet() && len(vs) != 1 {
			t.Fatalf("%s: %q", c, vs)
		}
		for _, v := range vs {
			if c != fingerprint.CPU && fingerprint.Normalize(c, v) != v {
				t.Fatalf("%s value %q is not normalised", c, v)
			}
		}
	}
	if _, err := p.Digest(scope).MarshalBinary(); err != nil {
		t.Fatalf("profile does not encode: %v", err)
	}
}
