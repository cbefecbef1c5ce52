package snapshot

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, link string
	typ        byte
	body       string
	size       int64 // header size if body is empty and size > 0 (a lie)
}

func archive(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.body != "" {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// unpack unpacks into a fresh directory inside a parent that also holds a
// directory "outside": whatever the archive does, outside must stay empty.
func unpack(t *testing.T, b []byte, lim Limits) (dir string, err error) {
	t.Helper()
	parent := t.TempDir()
	dir = filepath.Join(parent, "root", "snap")
	outside := filepath.Join(parent, "outside")
	for _, d := range []string{dir, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	err = Unpack(bytes.NewReader(b), dir, lim)
	filepath.WalkDir(parent, func(p string, d fs.DirEntry, _ error) error {
		if !strings.HasPrefix(p, dir) && p != outside && p != parent && p != filepath.Dir(dir) {
			t.Errorf("the archive wrote %s, outside the snapshot directory", p)
		}
		return nil
	})
	return dir, err
}

// The committed snapshot unpacks to exactly the committed tree, links included.
func TestUnpackFixture(t *testing.T) {
	dir := t.TempDir()
	if err := UnpackFile("../../machine/testdata/hw/server.tar.gz", dir); err != nil {
		t.Fatal(err)
	}
	want := "../../machine/testdata/hw/server"
	n := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		got := filepath.Join(dir, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, err := os.Readlink(got)
			if err != nil || a != b {
				t.Errorf("%s: link %q, want %q (%v)", rel, b, a, err)
			}
		case d.Type().IsRegular():
			a, _ := os.ReadFile(p)
			b, err := os.ReadFile(got)
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s differs (%v)", rel, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("only %d files compared", n)
	}
	// A link in the snapshot resolves inside it.
	if _, err := os.ReadFile(filepath.Join(dir, "sys/class/net/eno1/address")); err != nil {
		t.Fatal(err)
	}
}

func TestHostileArchives(t *testing.T) {
	small := Limits{Entries: 10, FileBytes: 100, Bytes: 150}
	tests := []struct {
		name string
		es   []entry
		lim  Limits
		want error
	}{
		{"absolute name", []entry{{name: "/tmp/pwned", body: "x"}}, DefaultLimits, ErrUnsafe},
		{"dot-dot name", []entry{{name: "sys/../../outside/pwned", body: "x"}}, DefaultLimits, ErrUnsafe},
		{"dot-dot at the start", []entry{{name: "../outside/pwned", body: "x"}}, DefaultLimits, ErrUnsafe},
		{"drive letter", []entry{{name: "C:/pwned", body: "x"}}, DefaultLimits, ErrUnsafe},
		{"backslash", []entry{{name: `..\outside\pwned`, body: "x"}}, DefaultLimits, ErrUnsafe},
		{"absolute link", []entry{{name: "etc", link: "/etc", typ: tar.TypeSymlink}}, DefaultLimits, ErrUnsafe},
		{"link climbing out", []entry{{name: "sys/l", link: "../../outside", typ: tar.TypeSymlink}}, DefaultLimits, ErrUnsafe},
		{"link with dot-dot after a name", []entry{{name: "sys/l", link: "a/../../..", typ: tar.TypeSymlink}}, DefaultLimits, ErrUnsafe},
		// ghw's unpacker accepts this one: every name and target stays inside
		// the root lexically, but r/s is the root itself on disk, so r/s/L
		// points two levels above it and r/s/L/pwned lands outside.
		{"link chain that escapes on disk only", []entry{
			{name: "r/", typ: tar.TypeDir},
			{name: "r/s", link: "..", typ: tar.TypeSymlink},
			{name: "r/s/L", link: "../../outside", typ: tar.TypeSymlink},
			{name: "r/s/L/pwned", body: "x"},
		}, DefaultLimits, ErrUnsafe},
		{"file written through a link", []entry{
			{name: "d/", typ: tar.TypeDir},
			{name: "l", link: "d", typ: tar.TypeSymlink},
			{name: "l/f", body: "x"},
		}, DefaultLimits, ErrUnsafe},
		{"file over a link", []entry{{name: "l", link: "d", typ: tar.TypeSymlink}, {name: "l", body: "x"}}, DefaultLimits, ErrUnsafe},
		{"same file twice", []entry{{name: "f", body: "x"}, {name: "f", body: "y"}}, DefaultLimits, ErrUnsafe},
		{"hard link", []entry{{name: "f", body: "x"}, {name: "h", link: "f", typ: tar.TypeLink}}, DefaultLimits, ErrUnsafe},
		{"character device", []entry{{name: "dev/mem", typ: tar.TypeChar}}, DefaultLimits, ErrUnsafe},
		{"block device", []entry{{name: "dev/sda", typ: tar.TypeBlock}}, DefaultLimits, ErrUnsafe},
		{"FIFO", []entry{{name: "fifo", typ: tar.TypeFifo}}, DefaultLimits, ErrUnsafe},
		{"too many entries", func() []entry {
			var es []entry
			for i := 0; i < 11; i++ {
				es = append(es, entry{name: strings.Repeat("d", i+1) + "/", typ: tar.TypeDir})
			}
			return es
		}(), small, ErrTooLarge},
		{"file too large", []entry{{name: "f", body: strings.Repeat("x", 101)}}, small, ErrTooLarge},
		{"files too large together", []entry{{name: "f", body: strings.Repeat("x", 100)}, {name: "g", body: strings.Repeat("x", 51)}}, small, ErrTooLarge},
		// A 200 KB GNU long name is read by the tar reader, not written: only
		// the decompression budget stops it.
		{"decompresses past the budget", []entry{{name: strings.Repeat("n", 200_000), body: "x"}}, small, ErrTooLarge},
	}
	for _, tc := range tests {
		_, err := unpack(t, archive(t, tc.es...), tc.lim)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := unpack(t, []byte("not gzip"), DefaultLimits); !errors.Is(err, ErrUnsafe) {
		t.Errorf("not gzip: %v", err)
	}
}

// A gzip bomb (1 GiB of zeros in about 1 MB) claims a size past the limit in
// its header and is refused before anything is decompressed into a file.
func TestGzipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	const size = 1 << 30
	tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: size})
	zero := make([]byte, 1<<20)
	for i := 0; i < 4; i++ { // enough to be read; the rest is never needed
		tw.Write(zero)
	}
	zw.Close()
	dir, err := unpack(t, buf.Bytes(), DefaultLimits)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "big")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the bomb's file was created: %v", err)
	}
}

func TestAllowedLinks(t *testing.T) {
	dir, err := unpack(t, archive(t,
		entry{name: "sys/devices/net/eno1/address", body: "b0:7b:25:d4:3e:10\n"},
		entry{name: "sys/class/net/eno1", link: "../../devices/net/eno1", typ: tar.TypeSymlink},
	), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sys/class/net/eno1/address"))
	if err != nil || string(b) != "b0:7b:25:d4:3e:10\n" {
		t.Fatalf("%q %v", b, err)
	}
}

// Whatever the bytes, Unpack never panics and never writes outside its directory.
func FuzzUnpack(f *testing.F) {
	if b, err := os.ReadFile("../../machine/testdata/hw/server.tar.gz"); err == nil {
		f.Add(b)
	}
	f.Add(archive(f, entry{name: "r/", typ: tar.TypeDir}, entry{name: "r/s", link: "..", typ: tar.TypeSymlink}))
	f.Fuzz(func(t *testing.T, b []byte) {
		unpack(t, b, Limits{Entries: 100, FileBytes: 1 << 16, Bytes: 1 << 20})
	})
}
