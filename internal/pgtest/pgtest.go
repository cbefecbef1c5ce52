// Package pgtest runs a throwaway PostgreSQL server for tests: a new
// cluster in a temporary directory, reached only through a Unix socket in
// that directory (no TCP port to collide with another test binary), with a
// new database per test. It needs Debian's postgresql package (initdb and
// postgres); without it tests skip, except under CI, which installs it.
//
// Run as root (CI), the server runs as the postgres user, since PostgreSQL
// refuses to run as root.
package pgtest

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for admin statements
)

// Server is one running throwaway cluster.
type Server struct {
	dir, bin string
	fsync    bool
	cred     *credential
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	log      bytes.Buffer
}

var (
	shared, durable         *Server
	sharedErr, durableErr   error
	sharedOnce, durableOnce sync.Once
	dbSeq                   atomic.Int64
)

// Need returns the test binary's shared server, starting it on first use,
// or skips the test (fails it under CI) when PostgreSQL is not installed.
// Call Main from TestMain to stop it when the tests end.
func Need(t testing.TB) *Server {
	t.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
	if errors.Is(sharedErr, ErrNotInstalled) || errors.Is(sharedErr, errNotLinux) {
		SkipOrFail(t, sharedErr)
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// NeedDurable is Need for a server that syncs its writes to disk as a
// production one does (Need's server does not, for speed): for benchmarks.
func NeedDurable(t testing.TB) *Server {
	t.Helper()
	durableOnce.Do(func() { durable, durableErr = start(true) })
	if errors.Is(durableErr, ErrNotInstalled) || errors.Is(durableErr, errNotLinux) {
		SkipOrFail(t, durableErr)
	}
	if durableErr != nil {
		t.Fatal(durableErr)
	}
	return durable
}

// Own starts a server of the test's own (one it may halt or restart
// without disturbing other tests), stopped when the test ends; it skips or
// fails like Need when PostgreSQL is not installed.
func Own(t testing.TB) *Server {
	t.Helper()
	if err := Available(); err != nil {
		SkipOrFail(t, err)
	}
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Main runs the tests and then stops the shared servers that started.
func Main(m *testing.M) int {
	code := m.Run()
	for _, s := range []*Server{shared, durable} {
		if s != nil {
			s.Stop()
		}
	}
	return code
}

// errNotLinux: the PostgreSQL tests run on Linux, CI's platform (the
// Windows test binaries run under Wine there, with no PostgreSQL to reach).
var errNotLinux = errors.New("the PostgreSQL tests run on Linux only")

// ErrNotInstalled: no initdb/postgres binaries were found.
var ErrNotInstalled = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

// findBin looks for the server binaries: $PGBIN, then Debian's
// /usr/lib/postgresql/N/bin (newest first), then initdb on $PATH.
func findBin() (string, error) {
	if runtime.GOOS != "linux" {
		return "", errNotLinux
	}
	if d := os.Getenv("PGBIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "postgres")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	return "", ErrNotInstalled
}

// Start makes and starts a new cluster. Stop removes it. Its writes are
// not synced to disk (fsync off): it survives a restart, not a power cut.
func Start() (*Server, error) { return start(false) }

func start(sync bool) (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	// A short path: a Unix socket's path must fit in 107 bytes.
	dir, err := os.MkdirTemp("", "seatkey-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, bin: bin, fsync: sync}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%w: running as root needs the postgres user to run the server as", ErrNotInstalled)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &credential{uid: uint32(uid), gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	init := s.command(filepath.Join(bin, "initdb"), "-D", s.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-instructions", "--no-sync")
	if out, err := init.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	if err := s.start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = sysProcAttr(s.cred)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// start runs postgres in the foreground as a child of the test binary and
// waits until it accepts connections.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fsync := "off"
	if s.fsync {
		fsync = "on"
	}
	cmd := s.command(filepath.Join(s.bin, "postgres"), "-D", s.data(), "-k", s.dir, "-c", "listen_addresses=",
		"-c", "fsync="+fsync, "-c", "max_connections=200", "-c", "shared_buffers=128MB")
	s.log.Reset()
	cmd.Stdout, cmd.Stderr = &s.log, &s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := sql.Open("pgx", s.DSN("postgres"))
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited: %s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections in 30s: %v: %s", err, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DSN is the URL of database db on this server.
func (s *Server) DSN(db string) string {
	return "postgres://postgres@/" + db + "?host=" + s.dir + "&sslmode=disable&connect_timeout=10"
}

// NewDatabase creates an empty database for one test, dropped when it ends,
// and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	admin, err := sql.Open("pgx", s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", s.DSN("postgres"))
		if err != nil {
			return
		}
		defer admin.Close()
		admin.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	return s.DSN(name)
}

// Restart stops the server the way an operator's restart does (fast
// shutdown: open transactions are rolled back, clients disconnected) and
// starts it again on the same data.
func (s *Server) Restart() error {
	if err := s.stop(); err != nil {
		return err
	}
	return s.start()
}

// Halt stops the server (fast shutdown), keeping its data for Resume: a
// database that is down for a while.
func (s *Server) Halt() error { return s.stop() }

// Resume starts a halted server again on the same data.
func (s *Server) Resume() error { return s.start() }

func (s *Server) stop() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(os.Interrupt) // SIGINT: fast shutdown
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	return nil
}

// Stop stops the server and removes its files.
func (s *Server) Stop() {
	s.stop()
	os.RemoveAll(s.dir)
}

// Exec runs admin SQL on database db (e.g. to count rows behind a test's back).
func (s *Server) Exec(ctx context.Context, db, q string, args ...any) error {
	conn, err := sql.Open("pgx", s.DSN(db))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, q, args...)
	return err
}

// Available reports whether the server binaries are installed, without
// starting anything: ErrNotInstalled, or nil.
func Available() error {
	_, err := findBin()
	return err
}

// SkipOrFail skips t because PostgreSQL is not installed, or fails it under
// CI, which must run the PostgreSQL tests.
func SkipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, errNotLinux) {
		t.Skip(err)
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%v, and CI must run the PostgreSQL tests (.ci/run installs postgresql)", err)
	}
	t.Skipf("%v (Debian: apt-get install postgresql); skipping the PostgreSQL tests", err)
}

// Env is set to "postgres" in the run RerunOnPostgres starts: a package's
// test helpers then make their ledgers in PostgreSQL databases.
const Env = "SEATKEY_TEST_LEDGER"

// OnPostgres reports whether this test binary is that run.
func OnPostgres() bool { return os.Getenv(Env) == "postgres" }

// RerunOnPostgres runs the package's whole test suite again in a child
// process with Env set (every test but t itself), and fails t if it fails.
// It skips inside that run, and where PostgreSQL is missing (not under CI).
func RerunOnPostgres(t *testing.T) {
	t.Helper()
	if OnPostgres() {
		t.Skip("this is the PostgreSQL run")
	}
	if err := Available(); err != nil {
		SkipOrFail(t, err)
	}
	args := []string{"-test.count=1", "-test.skip=^" + t.Name() + "$"}
	if testing.Short() {
		args = append(args, "-test.short")
	}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), Env+"=postgres")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the suite on PostgreSQL failed: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("PASS")) {
		t.Fatalf("the suite on PostgreSQL printed no PASS:\n%s", out)
	}
	t.Logf("the suite on PostgreSQL: %s", bytes.TrimSpace(out))
}
