package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// parseTime accepts YYYY-MM-DD or RFC 3339. With endOfDay a bare date means
// the end of that day (UTC), as in "valid through 2027-12-31".
func parseTime(flag, s string, endOfDay bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usagef("--%s: %q is neither YYYY-MM-DD nor an RFC 3339 time", flag, s)
	}
	return t, nil
}

// passphrase reads --passphrase-file, else $SEATKEY_PASSPHRASE.
func (e *env) passphrase(file string) ([]byte, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return []byte(strings.TrimRight(string(b), "\r\n")), nil
	}
	return []byte(e.getenv("SEATKEY_PASSPHRASE")), nil
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeOutput writes data to path, or to standard output for "-".
func (e *env) writeOutput(path string, data []byte) error {
	if path == "-" {
		_, err := e.stdout.Write(data)
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		return readAllLimited(os.Stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllLimited(f)
}

const maxInput = 96 << 20 // at least license.MaxFileSize: an armored revocation list may be 64 MiB decoded

func readAllLimited(f *os.File) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("%s: larger than %d bytes", f.Name(), maxInput)
	}
	return b, nil
}
