package issuer

import (
	"context"
	"database/sql/driver"
	"strings"
	"sync"

	"modernc.org/sqlite"
)

// The SQLite driver compiles a statement's SQL again on every call made
// through database/sql without an explicit Prepare; an activation runs
// about thirty statements, and compiling them was a fifth of the server's
// CPU time under load. Each SQLite connection here keeps its compiled
// statements, keyed by their text, and runs them again with new arguments.
// (pgx keeps PostgreSQL's prepared statements itself.)

// maxCachedStmts bounds one connection's cache; the ledger's SQL is a fixed
// set of statements, well under it.
const maxCachedStmts = 512

// sqliteConnector opens SQLite connections that keep their statements.
type sqliteConnector struct {
	dsn string
	d   *sqlite.Driver
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &stmtCache{Conn: conn, stmts: map[string]*cachedStmt{}}, nil
}

func (c sqliteConnector) Driver() driver.Driver { return c.d }

// stmtCache is one connection with its compiled statements. database/sql
// uses a connection from one goroutine at a time, but a transaction may run
// a statement while rows of the same statement are still open: such a
// statement is busy, and the second use compiles a fresh one it then drops.
type stmtCache struct {
	driver.Conn
	mu    sync.Mutex
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	driver.Stmt
	busy bool
}

var (
	_ driver.ExecerContext      = (*stmtCache)(nil)
	_ driver.QueryerContext     = (*stmtCache)(nil)
	_ driver.ConnBeginTx        = (*stmtCache)(nil)
	_ driver.ConnPrepareContext = (*stmtCache)(nil)
	_ driver.SessionResetter    = (*stmtCache)(nil)
	_ driver.Validator          = (*stmtCache)(nil)
	_ driver.Pinger             = (*stmtCache)(nil)
)

// cacheable: one statement (a migration is several, run once).
func cacheable(q string) bool { return !strings.Contains(q, ";") }

// get returns the compiled statement for q and a function to call when
// done with it.
func (c *stmtCache) get(ctx context.Context, q string) (driver.Stmt, func(), error) {
	c.mu.Lock()
	cs, ok := c.stmts[q]
	if ok && !cs.busy {
		cs.busy = true
		c.mu.Unlock()
		return cs.Stmt, func() { c.mu.Lock(); cs.busy = false; c.mu.Unlock() }, nil
	}
	c.mu.Unlock()
	s, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok || len(c.stmts) >= maxCachedStmts {
		return s, func() { s.Close() }, nil
	}
	cs = &cachedStmt{Stmt: s, busy: true}
	c.stmts[q] = cs
	return s, func() { c.mu.Lock(); cs.busy = false; c.mu.Unlock() }, nil
}

func (c *stmtCache) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if !cacheable(q) {
		return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
	}
	s, done, err := c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	defer done()
	return s.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *stmtCache) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	if !cacheable(q) {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	}
	s, done, err := c.get(ctx, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		done()
		return nil, err
	}
	return &cachedRows{Rows: rows, done: done}, nil
}

// cachedRows gives its statement back when closed.
type cachedRows struct {
	driver.Rows
	done func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

func (c *stmtCache) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *stmtCache) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *stmtCache) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *stmtCache) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *stmtCache) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

// Close drops the compiled statements, then the connection.
func (c *stmtCache) Close() error {
	c.mu.Lock()
	for q, cs := range c.stmts {
		cs.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.Conn.Close()
}
