package swtpm

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The readiness wait itself: a socket path nobody listens on is refused until
// the timeout, with the dial error in the message; a listener that appears
// late is found.
func TestWaitListening(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sock")
	if err := os.WriteFile(path, nil, 0o600); err != nil { // exists, but nothing listens
		t.Fatal(err)
	}
	err := waitListening(path, nil, 50*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("a file nobody listens on: %v", err)
	}
	exited := make(chan struct{})
	close(exited)
	if err := waitListening(path, exited, time.Minute); !errors.Is(err, errExited) {
		t.Fatalf("server gone: %v", err)
	}
	os.Remove(path)
	ready := make(chan net.Listener, 1)
	go func() {
		time.Sleep(30 * time.Millisecond) // a server that starts listening late
		l, err := net.Listen("unix", path)
		if err != nil {
			t.Error(err)
		}
		ready <- l
	}()
	if err := waitListening(path, nil, 5*time.Second); err != nil {
		t.Fatalf("late listener: %v", err)
	}
	if l := <-ready; l != nil {
		l.Close()
	}
}
