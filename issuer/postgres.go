package issuer

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL ledger. The ledger's SQL is written once, in the subset
// SQLite and PostgreSQL share; what differs is handled here, below
// database/sql, so the rules have a single implementation:
//
//   - placeholders: `?` becomes `$1`, `$2`, … (outside quoted text);
//   - flags: the schema stores them as integers, as SQLite does, so a Go
//     bool argument is sent as 0 or 1;
//   - types: the migrations' INTEGER is BIGINT (Unix times and cents outgrow
//     32 bits), BLOB is BYTEA, and INTEGER PRIMARY KEY is an identity column;
//   - locking: every transaction begins by taking one advisory lock, the
//     ledger's write lock. SQLite's BEGIN IMMEDIATE gives the embedded store
//     the same thing. Writers run in one total order across every server
//     instance on the database, which the rules need: a seat count read
//     before an insert stays true until the commit, the revocation list
//     sequence is global, and the audit log is one hash chain. Reads outside
//     a transaction take no lock. Transactions run at READ COMMITTED, so
//     each statement after the lock sees every writer that committed before.

// ErrUnavailable: the ledger's database could not be reached (down,
// restarting, the connection cut). Nothing was decided; a retry is safe,
// since every ledger operation is one transaction and activations replay.
var ErrUnavailable = errors.New("the ledger's database is unavailable")

// IsUnavailable reports whether err means the database could not be
// reached, rather than a refusal or a bug: the server answers it with 503.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	for _, target := range []error{ErrUnavailable, driver.ErrBadConn, sql.ErrConnDone, io.ErrUnexpectedEOF,
		syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EPIPE} {
		if errors.Is(err, target) {
			return true
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P: the server is shutting down,
		// crashed, or not yet accepting connections.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne)
}

// ledgerLock is the key of the ledger's advisory write lock ("seatkey!").
const ledgerLock int64 = 0x7365_6174_6b65_7921

// IsPostgres reports whether a --ledger value names a PostgreSQL database
// (a postgres:// or postgresql:// URL) rather than an SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPostgres connects to the database dsn names. It checks that the
// server answers, so a wrong address fails here rather than on first use.
func openPostgres(dsn string) (*sql.DB, error) {
	if err := checkDSN(dsn); err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger: %s", passwordParam.ReplaceAllString(err.Error(), "${1}xxxxx"))
	}
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", RedactDSN(dsn), err)
	}
	return db, nil
}

// RedactDSN returns dsn with any password replaced, for logs and errors.
// It errs towards hiding: everything between the scheme and the last '@'
// but the user name, and the value of every query parameter whose name,
// percent-decoded, is "password".
func RedactDSN(dsn string) string {
	i := strings.Index(dsn, "://")
	if i < 0 {
		return redactParams(dsn)
	}
	head, rest := dsn[:i+3], dsn[i+3:]
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user := rest[:at]
		if c := strings.IndexAny(user, ":/?"); c >= 0 {
			user = user[:c] + ":xxxxx"
		}
		rest = user + rest[at:]
	}
	return head + redactParams(rest)
}

// redactParams masks password parameters in a URL's query, or in an
// error message that repeats "password=...".
func redactParams(s string) string {
	q := strings.Index(s, "?")
	if q < 0 {
		return passwordParam.ReplaceAllString(s, "${1}xxxxx")
	}
	params := strings.Split(s[q+1:], "&")
	for n, p := range params {
		k, _, ok := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); ok && (err != nil || strings.EqualFold(dk, "password")) {
			params[n] = k + "=xxxxx"
		}
	}
	return passwordParam.ReplaceAllString(s[:q], "${1}xxxxx") + "?" + strings.Join(params, "&")
}

var passwordParam = regexp.MustCompile(`(?i)(password=)[^&\s]*`)

// ErrDSN: a postgres:// URL that would be read differently by people and
// by the driver.
var ErrDSN = errors.New("ledger URL")

// checkDSN refuses a URL whose user part holds more than one '@' (a
// password typed with '@' unencoded): the driver splits at the first, so
// the rest of the password would become the host name and appear in its
// connection errors.
func checkDSN(dsn string) error {
	rest := dsn[strings.Index(dsn, "://")+3:]
	if end := strings.IndexAny(rest, "?"); end >= 0 {
		rest = rest[:end]
	}
	if strings.Count(rest, "@") > 1 {
		return fmt.Errorf("%w: more than one '@' before the host: percent-encode '@' in a password as %%40, or leave the password out of the URL and set $PGPASSWORD or ~/.pgpass", ErrDSN)
	}
	return nil
}

// pgDDL turns a migration written for SQLite into PostgreSQL's types.
func pgDDL(stmt string) string {
	stmt = integerPK.ReplaceAllString(stmt, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY")
	stmt = integerType.ReplaceAllString(stmt, "BIGINT")
	return blobType.ReplaceAllString(stmt, "BYTEA")
}

var (
	integerPK   = regexp.MustCompile(`\bINTEGER PRIMARY KEY\b`)
	integerType = regexp.MustCompile(`\bINTEGER\b`)
	blobType    = regexp.MustCompile(`\bBLOB\b`)
)

// rebind rewrites `?` placeholders as $1, $2, … leaving quoted text
// ('…', "…") and comments alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		switch c := q[i]; c {
		case '\'', '"':
			j := strings.IndexByte(q[i+1:], c)
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j+2])
			i += j + 1
		case '-':
			if i+1 < len(q) && q[i+1] == '-' {
				j := strings.IndexByte(q[i:], '\n')
				if j < 0 {
					b.WriteString(q[i:])
					return b.String()
				}
				b.WriteString(q[i : i+j])
				i += j - 1
				continue
			}
			b.WriteByte(c)
		case '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// pgConnector hands database/sql connections that speak the ledger's SQL.
type pgConnector struct{ base driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{conn}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.base.Driver() }

// pgConn is one connection of pgx's database/sql driver with the rewrites
// above. It forwards every optional interface the driver implements.
type pgConn struct{ driver.Conn }

var (
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
	_ driver.ConnPrepareContext = (*pgConn)(nil)
)

func (c *pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, rebind(q))
}

func (c *pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, rebind(q), args)
}

func (c *pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, rebind(q), args)
}

// BeginTx begins a transaction holding the ledger's write lock. The level
// is set explicitly: at REPEATABLE READ (a database's default may say so)
// the snapshot would be taken by the lock statement before it waits, and
// every later statement would read what was there before the writer ahead
// committed. lock_timeout is cleared for the transaction, so a database
// default cannot turn a wait for the lock into an error.
func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) && opts.Isolation != driver.IsolationLevel(sql.LevelReadCommitted) {
		return nil, errors.New("ledger: transactions run at READ COMMITTED under the write lock")
	}
	opts.Isolation = driver.IsolationLevel(sql.LevelReadCommitted)
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if _, err := c.ExecContext(ctx, `SELECT set_config('lock_timeout', '0', true), pg_advisory_xact_lock($1)`, []driver.NamedValue{{Ordinal: 1, Value: ledgerLock}}); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// CheckNamedValue sends bools as the integers the schema stores.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
		return nil
	}
	return c.Conn.(driver.NamedValueChecker).CheckNamedValue(nv)
}

func (c *pgConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *pgConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }
