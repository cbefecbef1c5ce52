package winetest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// purePackages are run as Windows test binaries, besides every package under
// internal/ (but this one and depcheck, which run the go command).
var purePackages = []string{"./license", "./fingerprint", "./activation", "./verifier"}

// underWineOnly lists tests that cannot pass under Wine 8 for reasons that
// are Wine's, not seatkey's; the runner skips them by name and says why.
var underWineOnly = map[string][]struct{ test, why string }{
	"./verifier": {
		{"TestVerifierDependencies", "runs the go command, which a Wine prefix lacks (internal/depcheck checks the Windows dependencies on Linux)"},
	},
}

// need finds a tool; without it the test skips, except under CI, which must run it.
func need(t *testing.T, tool, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed, and CI must run the Windows tests under Wine (Debian: apt-get install %s; .ci/wine-tests does)", tool, pkg)
		}
		t.Skipf("%s not installed (Debian: apt-get install %s): skipping the Windows tests under Wine", tool, pkg)
	}
	return p
}

type wineEnv struct {
	t      *testing.T
	wine   string
	root   string // the module's root
	tmp    string
	env    []string
	prefix string
}

func (w *wineEnv) goCmd(args ...string) {
	w.t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = w.root
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// run runs a Windows program under Wine in dir and returns its exit code.
func (w *wineEnv) run(dir string, exe string, args ...string) (code int, stdout, stderr string) {
	w.t.Helper()
	cmd := exec.Command(w.wine, append([]string{exe}, args...)...)
	cmd.Dir = dir
	cmd.Env = w.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		w.t.Fatalf("wine %s: %v", exe, err)
	}
	return code, o.String(), e.String()
}

// setup makes a fresh Wine prefix with the ProcessPrng shim that Go 1.22+
// binaries need and Wine 8 lacks (.ci/wine/processprng.c).
func setup(t *testing.T) *wineEnv {
	if runtime.GOOS != "linux" {
		t.Skip("the Wine tests run on Linux")
	}
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("-short: skipping the Windows tests under Wine (about a minute)")
	}
	wine := need(t, "wine", "wine64")
	gcc := need(t, "x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64")
	need(t, "go", "golang")
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	w := &wineEnv{t: t, wine: wine, root: root, tmp: t.TempDir()}
	w.prefix = filepath.Join(w.tmp, "prefix")
	// Without CI: a test that needs a tool a Wine prefix cannot have (the go
	// command, swtpm) skips with its reason there; the Linux run covers it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CI=") {
			w.env = append(w.env, kv)
		}
	}
	w.env = append(w.env, "WINEPREFIX="+w.prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=bcryptprimitives=n;mscoree,mshtml=")
	start := time.Now()
	boot := exec.Command("wineboot", "-i")
	boot.Env = w.env
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("wineboot: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		k := exec.Command("wineserver", "-k") // this prefix's server only
		k.Env = w.env
		k.Run()
	})
	t.Logf("Wine prefix created in %v", time.Since(start).Round(time.Millisecond))
	dll := filepath.Join(w.prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	shim := filepath.Join(root, ".ci", "wine")
	out, err := exec.Command(gcc, "-O2", "-shared", "-o", dll,
		filepath.Join(shim, "processprng.c"), filepath.Join(shim, "bcryptprimitives.def"), "-ladvapi32").CombinedOutput()
	if err != nil {
		t.Fatalf("building the ProcessPrng shim: %v\n%s", err, out)
	}
	return w
}

// TestWindowsUnderWine runs the Windows test binaries of the pure packages and
// the Windows CLI's verify path under Wine.
func TestWindowsUnderWine(t *testing.T) {
	w := setup(t)
	pkgs := append([]string(nil), purePackages...)
	cmd := exec.Command("go", "list", "-f", "{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}", "./internal/...")
	cmd.Dir = w.root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		rel := "./" + strings.TrimPrefix(p, "github.com/seatkey/seatkey/")
		// swtpm: a Linux test helper (it runs swtpm). snapshot: ghw snapshots
		// are read on Linux only, and its tests unpack
		// into t.TempDir, whose cleanup Wine 8 cannot do (see underWineOnly).
		if rel != "./internal/depcheck" && rel != "./internal/winetest" && rel != "./internal/snapshot" && rel != "./internal/swtpm" {
			pkgs = append(pkgs, rel)
		}
	}
	total := time.Now()
	for _, pkg := range pkgs {
		t.Run("test "+pkg, func(t *testing.T) {
			exe := filepath.Join(w.tmp, strings.ReplaceAll(strings.TrimPrefix(pkg, "./"), "/", "_")+".test.exe")
			start := time.Now()
			w.goCmd("test", "-c", "-o", exe, pkg)
			built := time.Since(start)
			args := []string{"-test.count=1", "-test.v"}
			var skip []string
			for _, s := range underWineOnly[pkg] {
				skip = append(skip, "^"+s.test+"$")
				t.Logf("skipped under Wine: %s: %s", s.test, s.why)
			}
			if len(skip) > 0 {
				args = append(args, "-test.skip", strings.Join(skip, "|"))
			}
			code, stdout, stderr := w.run(filepath.Join(w.root, pkg), exe, args...)
			for _, line := range strings.Split(stdout, "\n") {
				if strings.Contains(line, "--- SKIP") {
					t.Logf("under Wine: %s", strings.TrimSpace(line))
				}
			}
			if code != 0 || !strings.Contains(stdout, "PASS") {
				t.Fatalf("%s's Windows tests under Wine: exit %d\n%s\n%s", pkg, code, stdout, stderr)
			}
			t.Logf("%s: built in %v, passed under Wine in %v", pkg, built.Round(time.Millisecond), (time.Since(start) - built).Round(time.Millisecond))
		})
	}
	t.Run("machine: WMI and registry layer", func(t *testing.T) {
		exe := filepath.Join(w.tmp, "machine.test.exe")
		w.goCmd("test", "-c", "-o", exe, "./machine")
		code, stdout, stderr := w.run(filepath.Join(w.root, "machine"), exe, "-test.run", "^TestQueryWMI$", "-test.v")
		if code != 0 || !strings.Contains(stdout, "--- PASS: TestQueryWMI") {
			t.Fatalf("machine's TestQueryWMI under Wine: exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
	t.Run("CLI verify", func(t *testing.T) { testCLI(t, w) })
	t.Logf("Windows builds and runs under Wine: %v in all", time.Since(total).Round(time.Millisecond))
}

// testCLI verifies the vectors' typical license with the Windows CLI: valid
// exits 0, a tampered copy exits 1 with the reason, bad usage exits 2.
func testCLI(t *testing.T, w *wineEnv) {
	exe := filepath.Join(w.tmp, "seatkey.exe")
	w.goCmd("build", "-o", exe, "./cmd/seatkey")
	var vec struct {
		PublicKeyFile string `json:"public_key_file"`
		Product       string `json:"product"`
		Now           string `json:"now"`
	}
	b, err := os.ReadFile(filepath.Join(w.root, "testdata", "vectors", "license.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &vec); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lic, err := os.ReadFile(filepath.Join(w.root, "testdata", "vectors", "typical.lic"))
	if err != nil {
		t.Fatal(err)
	}
	write("vendor.pub", vec.PublicKeyFile)
	write("good.lic", string(lic))
	write("tampered.lic", tamper(t, string(lic)))
	verify := func(file string) (int, string, string) {
		return w.run(dir, exe, "verify", "--pub", "vendor.pub", "--product", vec.Product, "--at", vec.Now, file)
	}
	if code, stdout, stderr := verify("good.lic"); code != 0 || !strings.Contains(stdout, "Globex") {
		t.Errorf("valid license under Wine: exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := verify("tampered.lic"); code != 1 || !strings.Contains(strings.ToLower(stderr), "signature") {
		t.Errorf("tampered license under Wine: exit %d, want 1 with the reason (signature)\n%s\n%s", code, stdout, stderr)
	}
	if code, _, stderr := w.run(dir, exe, "verify", "--no-such-flag"); code != 2 {
		t.Errorf("bad usage under Wine: exit %d, want 2\n%s", code, stderr)
	}
}

// tamper changes the customer name inside a signed license ("Globex" to
// "Globey") and armors it again: the signature no longer matches.
func tamper(t *testing.T, armored string) string {
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(armored, "\r\n", "\n")), "\n")
	if len(lines) < 3 {
		t.Fatal("typical.lic is not armored")
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(lines[1:len(lines)-1], ""))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(raw, []byte("Globex"))
	if i < 0 {
		t.Fatal("typical.lic does not name Globex")
	}
	raw[i+5] = 'y'
	enc := base64.StdEncoding.EncodeToString(raw)
	var out strings.Builder
	out.WriteString(lines[0] + "\n")
	for len(enc) > 64 {
		out.WriteString(enc[:64] + "\n")
		enc = enc[64:]
	}
	out.WriteString(enc + "\n" + lines[len(lines)-1] + "\n")
	return out.String()
}
