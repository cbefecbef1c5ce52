package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/seatkey/seatkey/internal/atomicfile"
)

// errExists refuses to replace an output file without --force.
var errExists = errors.New("already exists (give --force to replace it)")

// writeOutput writes data to path, or to standard output for "-". Without
// force an existing path (a file, a directory, even a dangling link) is refused.
func (e *env) writeOutput(path string, data []byte, force bool) error {
	if path == "-" {
		_, err := e.stdout.Write(data)
		return err
	}
	return writeFile(path, data, 0o644, force)
}

// writeFile writes data to a temporary file created exclusively (O_EXCL, a
// random name) in path's directory, syncs it, and only then puts it at path:
// a crash leaves the old file or the new one, never half of one, and a link
// planted in the directory is never followed. The final step is a hard link
// when path must not be replaced (it fails if anything is there, atomically),
// else a rename, which replaces a link at path rather than its target.
func writeFile(path string, data []byte, mode fs.FileMode, force bool) error {
	return writeFileFunc(path, mode, force, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeFileFunc is writeFile for output that write streams (a report of a
// million devices is not held in memory).
func writeFileFunc(path string, mode fs.FileMode, force bool, write func(io.Writer) error) error {
	if !force {
		if err := refuseExisting(path); err != nil {
			return err
		}
	}
	err := atomicfile.Write(path, mode, force, write)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", esc(path), errExists)
	}
	return err
}

// readInput reads a file, or standard input for "-", up to maxInput bytes.
func (e *env) readInput(path string) ([]byte, error) {
	if path == "-" {
		return readAllLimited(e.stdin, "standard input")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f, path)
}

// maxInput bounds what a command reads: above an armored revocation list at
// SPEC's 64 MiB limit (the spec branch raises the limit to this value too).
const maxInput = 96 << 20

func readAllLimited(r io.Reader, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("%s: larger than %d bytes", esc(name), maxInput)
	}
	return b, nil
}

// refuseExisting fails if anything exists at path.
func refuseExisting(path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", esc(path), errExists)
	}
	return nil
}
