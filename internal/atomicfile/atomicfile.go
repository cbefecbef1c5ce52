// Package atomicfile writes a file so that whoever reads it, and whatever
// happens meanwhile (a crash, a power cut), finds the old file or the whole
// new one, never part of one. The data goes to a temporary file created
// exclusively (O_EXCL, a random name) beside the target, is synced, given
// its mode, and only then put at the target: renamed over it, or hard
// linked when an existing file must not be replaced. A link planted in the
// directory is never followed. The directory is synced after.
//
// The CLI's outputs, the verifier's state file and the client's saved
// activations all write this way.
package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Write writes path with what write produces, mode perm. With replace false
// an existing path is not replaced: the error wraps fs.ErrExist.
func Write(path string, perm fs.FileMode, replace bool, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a link, or on failure; a no-op after a rename
	bw := bufio.NewWriterSize(f, 1<<16)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		// Windows keeps only the read-only bit; a file system without modes
		// at all says ErrUnsupported, which is no reason to fail.
		if cerr := f.Chmod(perm); cerr != nil && !errors.Is(cerr, errors.ErrUnsupported) {
			err = cerr
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmp, path)
	} else if err = os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return err
	} else if err != nil {
		// No hard links here (some network and FAT file systems): the
		// caller's check that nothing is at path must stand in for it.
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes is Write for data in memory.
func WriteBytes(path string, data []byte, perm fs.FileMode, replace bool) error {
	return Write(path, perm, replace, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
