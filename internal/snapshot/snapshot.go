// Package snapshot unpacks a hardware snapshot (a .tar.gz of a sysfs, procfs
// and udev tree, as ghw's snapshot tool packs it) into a directory, for
// machine.Collect's --root. The archive comes from a customer: it is hostile.
//
// ghw's own unpacker checks names lexically only, so an archive can make it
// write through a symlink it created earlier, anywhere the vendor can write.
// This one writes through an os.Root (nothing can leave the directory, even
// through a symlink), creates every file exclusively (an entry never
// overwrites or follows what an earlier entry made), and refuses:
//
//   - absolute names, ".." components, and names with a backslash or NUL;
//   - hard links, devices, FIFOs and every type but directory, regular file
//     and symbolic link;
//   - symbolic links whose target is absolute, or leaves the tree: a target
//     is some leading ".." components (no more than the link's depth) and
//     then plain names only, which is all a sysfs snapshot needs
//     ("../../devices/pci0000:00/.../net/eno1");
//   - archives past the Limits: entries, bytes of one file, bytes in all,
//     and bytes decompressed (gzip bombs).
//
// Modes, owners and times in the archive are ignored: directories are 0755,
// files 0644.
package snapshot

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// ErrUnsafe is an archive that breaks one of the rules above.
var ErrUnsafe = errors.New("unsafe snapshot archive")

// ErrTooLarge is an archive past one of the Limits.
var ErrTooLarge = errors.New("snapshot archive too large")

// Limits bound what an archive may unpack to.
type Limits struct {
	Entries   int   // entries of any type
	FileBytes int64 // bytes of one regular file
	Bytes     int64 // bytes of all regular files; the gzip stream may decompress to twice this
}

// DefaultLimits are far above a real snapshot (a rack server's is about 300
// entries and 200 KB) and far below what would hurt the vendor's machine.
var DefaultLimits = Limits{Entries: 100_000, FileBytes: 16 << 20, Bytes: 256 << 20}

// UnpackFile unpacks the .tar.gz at name into dir, which must exist and
// should be empty, with DefaultLimits.
func UnpackFile(name, dir string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return Unpack(f, dir, DefaultLimits)
}

// Unpack unpacks the gzip-compressed tar stream r into dir within lim. On
// error, dir may hold part of the archive; the caller removes it.
func Unpack(r io.Reader, dir string, lim Limits) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: not gzip: %v", ErrUnsafe, err)
	}
	defer zr.Close()
	// Bound the decompressed stream too: headers and padding are not file
	// bytes, and a bomb of empty entries must stop as surely as a big file.
	budget := 2*lim.Bytes + int64(lim.Entries)*1024 + 1024
	tr := tar.NewReader(&limitedReader{r: zr, n: budget})
	var entries int
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return fmt.Errorf("%w: %v", ErrUnsafe, err)
		}
		if h.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		if entries++; entries > lim.Entries {
			return fmt.Errorf("%w: more than %d entries", ErrTooLarge, lim.Entries)
		}
		name, err := cleanName(h.Name)
		if err != nil {
			return err
		}
		if name == "." {
			if h.Typeflag == tar.TypeDir {
				continue
			}
			return fmt.Errorf("%w: %q is not a directory", ErrUnsafe, h.Name)
		}
		if err := mkdirs(root, path.Dir(name)); err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.Mkdir(name, 0o755); err != nil && !isDir(root, name, err) {
				return fmt.Errorf("%w: %s: %v", ErrUnsafe, name, err)
			}
		case tar.TypeReg:
			if h.Size > lim.FileBytes {
				return fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, name, h.Size, lim.FileBytes)
			}
			if total += h.Size; total > lim.Bytes {
				return fmt.Errorf("%w: more than %d bytes of files", ErrTooLarge, lim.Bytes)
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrUnsafe, name, err)
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		case tar.TypeSymlink:
			if err := checkLink(name, h.Linkname); err != nil {
				return err
			}
			if err := root.Symlink(h.Linkname, name); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrUnsafe, name, err)
			}
		default:
			return fmt.Errorf("%w: %s is a %s; only directories, regular files and symbolic links are unpacked", ErrUnsafe, name, typeName(h.Typeflag))
		}
	}
}

// cleanName returns the slash-separated relative name of an entry, or an
// error for a name that is absolute, climbs with "..", or is not portable.
func cleanName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: entry name %q %s", ErrUnsafe, name, why)
	}
	switch {
	case name == "":
		return bad("is empty")
	case strings.ContainsAny(name, "\\\x00"):
		return bad("has a backslash or NUL")
	case strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':'):
		return bad("is absolute")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return bad(`has a ".." component`)
		}
	}
	return path.Clean(name), nil
}

// checkLink refuses a symbolic link whose target is absolute or leaves the
// tree. A target is leading ".." components, no more than the link's depth,
// then plain names: so resolving it never climbs out, whatever other links
// the tree holds (every directory an entry is written under is a real one).
func checkLink(name, target string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: symbolic link %s -> %q %s", ErrUnsafe, name, target, why)
	}
	if target == "" || strings.ContainsAny(target, "\\\x00") {
		return bad("has an empty or non-portable target")
	}
	if strings.HasPrefix(target, "/") || (len(target) > 1 && target[1] == ':') {
		return bad("points to an absolute path")
	}
	depth := strings.Count(name, "/") // of the link's directory below the root
	up, plain := 0, false
	for _, part := range strings.Split(target, "/") {
		switch {
		case part == ".." && !plain:
			up++
		case part == "" || part == "." || part == "..":
			return bad(`has "", "." or a ".." after a name`)
		default:
			plain = true
		}
	}
	if up > depth {
		return bad("leaves the snapshot")
	}
	return nil
}

// mkdirs makes dir and its parents as real directories, refusing to go
// through a symbolic link or a file: an entry is always written where its
// name says, so a link's depth in its name is its depth on disk.
func mkdirs(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	p := ""
	for _, part := range strings.Split(dir, "/") {
		p = path.Join(p, part)
		fi, err := root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := root.Mkdir(p, 0o755); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrUnsafe, p, err)
			}
		case err != nil:
			return fmt.Errorf("%w: %s: %v", ErrUnsafe, p, err)
		case !fi.IsDir():
			return fmt.Errorf("%w: an entry goes through %s, which is not a directory (a symbolic link or file)", ErrUnsafe, p)
		}
	}
	return nil
}

func isDir(root *os.Root, name string, err error) bool {
	if !errors.Is(err, fs.ErrExist) {
		return false
	}
	fi, lerr := root.Lstat(name)
	return lerr == nil && fi.IsDir()
}

func typeName(t byte) string {
	switch t {
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("entry of type %q", t)
}

// limitedReader fails with ErrTooLarge, not io.EOF, once n bytes are read.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("%w: decompresses to more than its limit", ErrTooLarge)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
