package issuer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"modernc.org/sqlite" // the embedded SQL store: pure Go, no cgo

	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// Ledger errors. Every refused activation or operation changes nothing.
var (
	ErrSeatsExhausted    = errors.New("all seats are in use and the license does not allow overage")
	ErrFailoverExhausted = errors.New("all failover installations are in use")
	ErrSuspended         = errors.New("customer is suspended")
	ErrPerDeployment     = errors.New("per-deployment licenses cannot be decommissioned: each deployment is used for good")
	ErrNoSupport         = errors.New("perpetual license without current support cannot decommission")
	ErrUnknownDevice     = errors.New("unknown device")
	ErrUnknownLicense    = errors.New("unknown license")
	ErrUnknownCustomer   = errors.New("unknown customer")
	ErrNotActive         = errors.New("device is not active")
	ErrRequestRefused    = errors.New("activation request refused")
	ErrLedgerSchema      = errors.New("ledger schema is newer than this program")
	// ErrIdentityConflict: the request shares hardware identity with two
	// devices of the license, or with an active device of another
	// customer's license of the product. The vendor's operators are told.
	ErrIdentityConflict = errors.New("the request's hardware identity belongs to more than one device")
	// ErrDeviceRevoked: the vendor revoked an activation of this device
	// (for any reason but superseded); the device gets no new one.
	ErrDeviceRevoked = errors.New("an activation of this device was revoked by the vendor")
	// ErrLicenseRevoked: the ledger has revoked the license.
	ErrLicenseRevoked = errors.New("license is revoked")
	// ErrKeyRevoked: a key is revoked (or retired) in the ledger: it signs
	// nothing more, and licenses it signed after its retirement (or at all,
	// if compromised) get no activation.
	ErrKeyRevoked = errors.New("signing key is revoked or retired")
)

// Ledger is the issuer's exact account of customers, licenses, devices,
// activations and every state change. It is an SQL database behind
// database/sql in portable SQL; OpenLedger opens the embedded SQLite store.
type Ledger struct {
	db *sql.DB
	pg bool // PostgreSQL (postgres.go), not SQLite
	// Actor is recorded with every change ("cli", a user name, a service).
	Actor string
	// RecommissionLimit is how many recommissions a customer may make before
	// being suspended; the one that would exceed it is refused.
	RecommissionLimit int
	// NotifyAt is the share of seats, in percent, at which the customer's
	// contact is told that usage is nearing the limit.
	NotifyAt int
	// OperatorContact receives the notifications meant for the vendor's own
	// operators (identity conflicts). Empty: they are recorded, with no
	// recipient, and no channel can deliver them.
	OperatorContact string
	// FraudContact is the vendor's fraud team, told when a license is
	// flagged or disabled (Sweep). Empty: recorded with no recipient.
	FraudContact string
	// InactiveAfter is how long a device that has checked in before may go
	// unseen before Sweep takes it for retired when a server migration's
	// grace ends (SPEC 10.4 rule 11). Zero: DefaultInactiveAfter;
	// negative: check-ins are not used.
	InactiveAfter time.Duration
	// TPM is what a TPM-attested request must satisfy (SPEC.md 13).
	TPM TPMPolicy
	// Now is the clock (tests set it).
	Now func() time.Time
}

// Defaults for a new Ledger.
const (
	DefaultRecommissionLimit = 5
	DefaultNotifyAt          = 90
	DefaultOveragePriceCents = 5000 // 50 USD per overage device
)

// migrations are applied in order; each runs once, in one transaction.
var migrations = []string{
	`CREATE TABLE customers (
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		contact TEXT NOT NULL DEFAULT '',
		recommissions INTEGER NOT NULL DEFAULT 0,
		suspended INTEGER NOT NULL DEFAULT 0
	);
	CREATE TABLE signing_keys (
		kid BLOB PRIMARY KEY,
		public_key BLOB NOT NULL,
		added_at INTEGER NOT NULL
	);
	CREATE TABLE licenses (
		id BLOB PRIMARY KEY,
		customer_id INTEGER NOT NULL REFERENCES customers(id),
		product TEXT NOT NULL,
		edition TEXT NOT NULL,
		kind INTEGER NOT NULL,
		seats INTEGER NOT NULL,
		failover INTEGER NOT NULL,
		expires INTEGER,
		upgrades_until INTEGER,
		overage_allowed INTEGER NOT NULL,
		overage_price_cents INTEGER NOT NULL,
		policy BLOB,
		notified_threshold INTEGER NOT NULL DEFAULT 0,
		notified_full INTEGER NOT NULL DEFAULT 0,
		token BLOB NOT NULL,
		kid BLOB NOT NULL,
		recorded_at INTEGER NOT NULL
	);
	CREATE INDEX licenses_customer ON licenses(customer_id);
	CREATE TABLE devices (
		id BLOB PRIMARY KEY,
		license_id BLOB NOT NULL REFERENCES licenses(id),
		label TEXT NOT NULL,
		status TEXT NOT NULL CHECK (status IN ('active', 'decommissioned', 'recommissioned')),
		failover INTEGER NOT NULL DEFAULT 0,
		overage INTEGER NOT NULL DEFAULT 0,
		fingerprint BLOB NOT NULL,
		first_activated INTEGER NOT NULL,
		last_activated INTEGER NOT NULL
	);
	CREATE INDEX devices_license ON devices(license_id, status);
	CREATE TABLE device_digests (
		license_id BLOB NOT NULL,
		digest BLOB NOT NULL,
		device_id BLOB NOT NULL REFERENCES devices(id),
		PRIMARY KEY (license_id, digest, device_id)
	);
	CREATE TABLE activations (
		id BLOB PRIMARY KEY,
		device_id BLOB NOT NULL REFERENCES devices(id),
		license_id BLOB NOT NULL REFERENCES licenses(id),
		request_hash BLOB NOT NULL UNIQUE,
		issued_at INTEGER NOT NULL,
		token BLOB NOT NULL
	);
	CREATE INDEX activations_device ON activations(device_id);
	CREATE TABLE events (
		id INTEGER PRIMARY KEY,
		at INTEGER NOT NULL,
		actor TEXT NOT NULL,
		kind TEXT NOT NULL,
		customer_id INTEGER,
		license_id BLOB,
		device_id BLOB,
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE notifications (
		id INTEGER PRIMARY KEY,
		at INTEGER NOT NULL,
		customer_id INTEGER NOT NULL REFERENCES customers(id),
		license_id BLOB,
		kind TEXT NOT NULL,
		recipient TEXT NOT NULL,
		subject TEXT NOT NULL,
		body TEXT NOT NULL,
		delivered_at INTEGER,
		attempts INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT ''
	);`,
	// 2: revocation and published revocation lists.
	`CREATE TABLE revocations (
		kind TEXT NOT NULL CHECK (kind IN ('license', 'activation', 'key')),
		id BLOB NOT NULL,
		reason INTEGER NOT NULL,
		at INTEGER NOT NULL,
		active INTEGER NOT NULL DEFAULT 1,
		PRIMARY KEY (kind, id)
	);
	CREATE TABLE revocation_lists (
		sequence INTEGER PRIMARY KEY,
		issued_at INTEGER NOT NULL,
		next_update INTEGER NOT NULL,
		kid BLOB NOT NULL,
		licenses INTEGER NOT NULL,
		activations INTEGER NOT NULL,
		keys INTEGER NOT NULL
	);`,
	// 3: report order straight from an index, not a sort of every device.
	`CREATE INDEX devices_report_order ON devices(license_id, first_activated, id);`,
	// 4: seats that hold (SPEC 10.4): every fingerprint revision of a device,
	// digests found across licenses, per-device recommissions and bills.
	`CREATE TABLE device_fingerprints (
		device_id BLOB NOT NULL REFERENCES devices(id),
		at INTEGER NOT NULL,
		fingerprint BLOB NOT NULL
	);
	CREATE INDEX device_fingerprints_device ON device_fingerprints(device_id, at);
	INSERT INTO device_fingerprints (device_id, at, fingerprint) SELECT id, last_activated, fingerprint FROM devices;
	CREATE INDEX device_digests_digest ON device_digests(digest);
	ALTER TABLE devices ADD COLUMN recommissions INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE devices ADD COLUMN billed_overage INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE devices ADD COLUMN billed_overage_at INTEGER;
	UPDATE devices SET billed_overage = 1, billed_overage_at = first_activated WHERE overage = 1;`,
	// 5: the audit log's hash chain (audit.go).
	auditMigration,
	// 6: the release catalog (release.go).
	releaseMigration,
	// 7: license revisions, transfers and charges (reissue.go).
	reissueMigration,
	// 8: server migrations, fraud flags and follow-up tasks (migration.go).
	migrationMigration,
	// 9: API tokens, check-ins and published lists for seatkey serve (tokens.go, checkin.go).
	onlineMigration,
	// 10: the portal's operators, sign-in links and sessions (portal_store.go).
	portalMigration,
	// 11: devices bound to a TPM must attest again (tpm.go).
	attestedMigration,
	// 12: where the audit chain starts (audit.go).
	auditBoundaryMigration,
	// 13: seat counting and migration lookups from indexes (seats.go).
	seatIndexMigration,
	// 14: leases: activations that expire unless the device checks in (lease.go).
	leaseMigration,
	// 15: Sweep reminds a customer once per migration (migration.go).
	checkinRulesMigration,
	// 16: deliverers claim a notification before sending it (notify.go).
	claimMigration,
	// 17: a yearly cap on server migrations (migration.go).
	migrationCapMigration,
	// 18: sign-in attempts counted for every instance (attempts.go).
	attemptsMigration,
}

// OpenLedger opens an existing ledger and brings its schema up to date:
// an SQLite file at path, or the PostgreSQL database a postgres:// URL names
// (IsPostgres). A missing file, or a database without a ledger's schema, is
// ErrNoLedger: CreateLedger makes a new one.
func OpenLedger(path string) (*Ledger, error) {
	if IsPostgres(path) {
		return openPostgresLedger(path, false)
	}
	if err := ledgerExists(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate") // writers take the lock at BEGIN: no lost updates, no deadlocks
	db := sql.OpenDB(sqliteConnector{dsn: "file:" + path + "?" + q.Encode(), d: &sqlite.Driver{}})
	l := ledgerOn(db, false)
	if err := l.migrate(anySchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return l, nil
}

func ledgerOn(db *sql.DB, pg bool) *Ledger {
	return &Ledger{db: db, pg: pg, Actor: "seatkey", RecommissionLimit: DefaultRecommissionLimit, NotifyAt: DefaultNotifyAt, Now: time.Now}
}

// openPostgresLedger opens the ledger in a PostgreSQL database; create
// makes its schema in a database that has none (and refuses one that has).
// Both checks run inside the migration's transaction, under the ledger's
// lock, so of two instances creating one ledger at once exactly one does.
func openPostgresLedger(dsn string, create bool) (*Ledger, error) {
	db, err := openPostgres(dsn)
	if err != nil {
		return nil, err
	}
	l := ledgerOn(db, true)
	mode := mustExist
	if create {
		mode = mustBeNew
	}
	if err := l.migrate(mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", RedactDSN(dsn), err)
	}
	return l, nil
}

// What migrate requires of the schema it finds. An SQLite file's existence
// is checked by OpenLedger and CreateLedger themselves (O_EXCL).
const (
	anySchema = iota
	mustExist
	mustBeNew
)

// Close closes the ledger.
func (l *Ledger) Close() error { return l.db.Close() }

func (l *Ledger) migrate(mode int) error {
	ctx := context.Background()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if mode != anySchema {
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`).Scan(&n); err != nil {
			return err
		}
		switch {
		case n == 0 && mode == mustExist:
			return fmt.Errorf("%w: the database has no ledger schema (seatkey ledger init makes one)", ErrNoLedger)
		case n > 0 && mode == mustBeNew:
			return fmt.Errorf("%w: the database already holds a ledger", ErrLedgerExists)
		}
	}
	if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	var have int
	if err := tx.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("%w: version %d, this program knows %d", ErrLedgerSchema, have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		m := migrations[v-1]
		if l.pg {
			m = pgDDL(m)
		}
		if _, err := tx.Exec(m); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().Unix()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// LicensePolicy is what the issuer decides about a license beyond its token.
type LicensePolicy struct {
	OverageAllowed    bool
	OveragePriceCents int64
	Contact           string // the customer's primary contact (email)
	// Match is the fingerprint policy the license's devices are identified
	// and verified under; nil: fingerprint.DefaultPolicy.
	Match *fingerprint.Policy
	// MigrationGrace is how long a server migration may keep both machines
	// active (zero: DefaultMigrationGrace; negative: no migrations).
	MigrationGrace time.Duration
	// FraudNotice is how long a flagged license has before it is disabled
	// (zero: DefaultFraudNotice).
	FraudNotice time.Duration
	// MigrationsPerYear caps the server migrations the license may start in
	// any 365 days, cancelled ones included (zero: DefaultMigrationsPerYear;
	// negative: no cap). Without a cap, a customer could keep one machine
	// more than its seats for good by migrating to a fresh machine and
	// cancelling before each grace ends.
	MigrationsPerYear int
	// Lease, when not zero, is how long each activation of the license is
	// valid after it is signed: a check-in signs it again (SPEC 10.4 rule
	// 12). Zero: no lease; otherwise between 1s and MaxLease.
	Lease time.Duration
}

// RecordLicense records a freshly minted license (seatkey mint --ledger).
func (l *Ledger) RecordLicense(key *Key, token []byte, p LicensePolicy) error {
	return l.tx(func(tx *sql.Tx) error {
		if err := recordKey(tx, key.Public(), l.now()); err != nil {
			return err
		}
		c, err := l.verifyLicense(tx, key, token)
		if err != nil {
			return err
		}
		_, _, err = l.recordLicense(tx, c, token, &p)
		return err
	})
}

func (l *Ledger) now() time.Time { return l.Now().UTC().Truncate(time.Second) }

func (l *Ledger) tx(f func(*sql.Tx) error) error {
	tx, err := l.db.BeginTx(context.Background(), nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func recordKey(tx *sql.Tx, pub license.PublicKey, now time.Time) error {
	id := pub.ID()
	_, err := tx.Exec(`INSERT INTO signing_keys (kid, public_key, added_at) VALUES (?, ?, ?) ON CONFLICT (kid) DO NOTHING`, id[:], []byte(pub.Key), now.Unix())
	return err
}

// keyring trusts the signing key and every key the ledger has seen sign.
func (l *Ledger) keyring(tx *sql.Tx, key *Key) (*verifier.Keyring, error) {
	kr := verifier.NewKeyring(key.Public())
	rows, err := tx.Query(`SELECT public_key FROM signing_keys`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var pk []byte
		if err := rows.Scan(&pk); err != nil {
			return nil, err
		}
		kr.Add(license.PublicKey{Key: pk})
	}
	return kr, rows.Err()
}

func (l *Ledger) verifyLicense(tx *sql.Tx, key *Key, token []byte) (*verifier.License, error) {
	kr, err := l.keyring(tx, key)
	if err != nil {
		return nil, err
	}
	lic, err := verifier.Verify(token, verifier.Options{Keys: kr, AnyProduct: true, Now: l.now()})
	if err != nil {
		return nil, fmt.Errorf("%w: license: %w", ErrRequestRefused, err)
	}
	if err := checkLicenseKey(tx, lic.KeyID, lic.IssuedAt); err != nil {
		return nil, err
	}
	return lic, nil
}

// recordLicense inserts the license and its customer unless known; p nil
// means first sight in a request: defaults (no overage), recorded as such.
func (l *Ledger) recordLicense(tx *sql.Tx, c *verifier.License, token []byte, p *LicensePolicy) (custID int64, isNew bool, err error) {
	if err := tx.QueryRow(`SELECT customer_id FROM licenses WHERE id = ?`, c.ID[:]).Scan(&custID); err == nil {
		if p != nil && p.Contact != "" {
			_, err = tx.Exec(`UPDATE customers SET contact = ? WHERE id = ?`, p.Contact, custID)
		}
		return custID, false, err
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	contact, how := "", "first seen in an activation request"
	pol := LicensePolicy{OveragePriceCents: DefaultOveragePriceCents}
	if p != nil {
		pol, contact, how = *p, p.Contact, "minted"
	}
	if err := tx.QueryRow(`INSERT INTO customers (name, contact) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET contact = CASE WHEN excluded.contact <> '' THEN excluded.contact ELSE customers.contact END
		RETURNING id`, c.Customer, contact).Scan(&custID); err != nil {
		return 0, false, err
	}
	var policy []byte // NULL: the default policy
	if pol.Match != nil && *pol.Match != fingerprint.DefaultPolicy {
		if policy, err = pol.Match.MarshalBinary(); err != nil {
			return 0, false, err
		}
	}
	grace, notice := pol.durations()
	lease, err := pol.leaseSeconds()
	if err != nil {
		return 0, false, err
	}
	_, err = tx.Exec(`INSERT INTO licenses (id, customer_id, product, edition, kind, seats, failover, expires, upgrades_until,
		overage_allowed, overage_price_cents, policy, token, kid, recorded_at, migration_grace, fraud_notice, revision, lease, migrations_per_year)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID[:], custID, c.Product, c.Edition, int(c.Kind), c.Seats, c.Failover, nullTime(c.Expires), nullTime(c.UpgradesUntil),
		pol.OverageAllowed, pol.OveragePriceCents, policy, token, c.KeyID[:], l.now().Unix(), grace, notice, c.Revision, lease, pol.migrationCap())
	if err != nil {
		return 0, false, err
	}
	return custID, true, l.event(tx, "license-recorded", custID, c.ID[:], nil, how)
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Unix()
}

func (l *Ledger) event(tx *sql.Tx, kind string, customer int64, lic, dev []byte, detail string) error {
	return l.appendEvent(tx, kind, customer, lic, dev, detail)
}
