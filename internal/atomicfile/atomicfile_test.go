package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/seatkey/seatkey/internal/testdir"
)

func TestWrite(t *testing.T) {
	dir := testdir.New(t)
	p := filepath.Join(dir, "out")
	if err := WriteBytes(p, []byte("one"), 0o600, false); err != nil {
		t.Fatal(err)
	}
	// Not replacing: refused, the old content stays.
	if err := WriteBytes(p, []byte("two"), 0o600, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("replace false over a file: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Fatalf("content %q", b)
	}
	// Replacing.
	if err := WriteBytes(p, []byte("two"), 0o640, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("content %q", b)
	}
	if st, _ := os.Stat(p); runtime.GOOS != "windows" && st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v", st.Mode())
	}
	// A failed write leaves the old file and no temporary file behind.
	boom := errors.New("boom")
	if err := Write(p, 0o600, true, func(w io.Writer) error { w.Write([]byte("partial")); return boom }); !errors.Is(err, boom) {
		t.Fatalf("failed write: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "two" {
		t.Fatalf("after a failed write: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("files left: %v", ents)
	}
}

// A link at the target is replaced, not followed: its target is untouched.
func TestWriteReplacesALinkNotItsTarget(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	link := filepath.Join(dir, "out")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(link, []byte("new"), 0o600, false); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("replace false over a link: %v", err)
	}
	if err := WriteBytes(link, []byte("new"), 0o600, true); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("the link's target was written: %q", b)
	}
	if st, _ := os.Lstat(link); st.Mode()&fs.ModeSymlink != 0 {
		t.Fatal("the link is still there")
	}
}
