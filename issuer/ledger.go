package issuer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the embedded SQL store: pure Go, no cgo

	"github.com/seatkey/seatkey/activation"
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
)

// Ledger is the issuer's exact account of customers, licenses, devices,
// activations and every state change. It is an SQL database behind
// database/sql in portable SQL; OpenLedger opens the embedded SQLite store.
type Ledger struct {
	db *sql.DB
	// Actor is recorded with every change ("cli", a user name, a service).
	Actor string
	// RecommissionLimit is how many recommissions a customer may make before
	// being suspended; the one that would exceed it is refused.
	RecommissionLimit int
	// NotifyAt is the share of seats, in percent, at which the customer's
	// contact is told that usage is nearing the limit.
	NotifyAt int
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
	onlineMigration, // 4: API tokens, check-ins, published lists (tokens.go)
}

// OpenLedger opens (creating on first use) the SQLite ledger at path and
// brings its schema up to date.
func OpenLedger(path string) (*Ledger, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(30000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate") // writers take the lock at BEGIN: no lost updates, no deadlocks
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	l := &Ledger{db: db, Actor: "seatkey", RecommissionLimit: DefaultRecommissionLimit, NotifyAt: DefaultNotifyAt, Now: time.Now}
	if err := l.migrate(); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	return l, nil
}

// Close closes the ledger.
func (l *Ledger) Close() error { return l.db.Close() }

func (l *Ledger) migrate() error {
	ctx := context.Background()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
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
		if _, err := tx.Exec(migrations[v-1]); err != nil {
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
	return lic, nil
}

// recordLicense inserts the license and its customer unless known; p nil
// means first sight in a request: defaults (no overage), recorded as such.
func (l *Ledger) recordLicense(tx *sql.Tx, c *verifier.License, token []byte, p *LicensePolicy) (custID int64, isNew bool, err error) {
	var exists int
	if err := tx.QueryRow(`SELECT customer_id FROM licenses WHERE id = ?`, c.ID[:]).Scan(&custID); err == nil {
		if p != nil && p.Contact != "" {
			_, err = tx.Exec(`UPDATE customers SET contact = ? WHERE id = ?`, p.Contact, custID)
		}
		return custID, false, err
	} else if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, err
	}
	_ = exists
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
	_, err = tx.Exec(`INSERT INTO licenses (id, customer_id, product, edition, kind, seats, failover, expires, upgrades_until,
		overage_allowed, overage_price_cents, token, kid, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID[:], custID, c.Product, c.Edition, int(c.Kind), c.Seats, c.Failover, nullTime(c.Expires), nullTime(c.UpgradesUntil),
		pol.OverageAllowed, pol.OveragePriceCents, token, c.KeyID[:], l.now().Unix())
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
	_, err := tx.Exec(`INSERT INTO events (at, actor, kind, customer_id, license_id, device_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		l.now().Unix(), l.Actor, kind, customer, lic, dev, detail)
	return err
}

// Outcome says what an activation did.
type Outcome string

const (
	NewDevice      Outcome = "new-device"     // a seat (or deployment, or failover slot) taken
	SameDevice     Outcome = "same-device"    // a known device (re-imaged or changed within the rule): no seat
	Recommissioned Outcome = "recommissioned" // a decommissioned device back: a seat taken again
	Replayed       Outcome = "replayed"       // the same request again: the same activation
)

// Result is one successful activation.
type Result struct {
	Outcome    Outcome
	Device     activation.DeviceID
	Activation activation.ID
	Label      string
	Token      []byte // the activation token, binary
	Overage    bool
	Failover   bool
	License    license.ID
	Customer   string
}

// Activate processes one request: verifies the license inside it, finds the
// device by fuzzy fingerprint match among the license's known devices,
// applies seats, overage, failover, recommission and suspension rules,
// records everything and signs an activation token with key. It is one
// transaction: a refusal or a crash changes nothing.
func (l *Ledger) Activate(key *Key, request []byte) (*Result, error) {
	req, err := activation.ParseRequest(request)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRequestRefused, err)
	}
	canon, _ := req.MarshalBinary()
	reqHash := sha256.Sum256(canon)
	var res *Result
	err = l.tx(func(tx *sql.Tx) error {
		res, err = l.activate(tx, key, req, reqHash[:])
		return err
	})
	var se *suspendError
	if errors.As(err, &se) {
		// The refused activation rolled back; record the suspension on its own.
		return nil, l.suspend(se)
	}
	return res, err
}

// suspendError asks Activate to suspend a customer after rolling back.
type suspendError struct {
	custID   int64
	customer string
	lic      license.ID
	dev      activation.DeviceID
}

func (e *suspendError) Error() string { return "suspend " + e.customer }

func (l *Ledger) activate(tx *sql.Tx, key *Key, req *activation.Request, reqHash []byte) (*Result, error) {
	now := l.now()
	// A request seen before gets the activation it got then.
	var prev Result
	var actID, devID, licID []byte
	err := tx.QueryRow(`SELECT a.id, a.device_id, a.license_id, a.token, d.label, d.overage, d.failover FROM activations a JOIN devices d ON d.id = a.device_id WHERE a.request_hash = ?`, reqHash).
		Scan(&actID, &devID, &licID, &prev.Token, &prev.Label, &prev.Overage, &prev.Failover)
	if err == nil {
		prev.Outcome = Replayed
		copy(prev.Activation[:], actID)
		copy(prev.Device[:], devID)
		copy(prev.License[:], licID)
		return &prev, nil
	} else if !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err := recordKey(tx, key.Public(), now); err != nil {
		return nil, err
	}
	lic, err := l.verifyLicense(tx, key, req.License)
	if err != nil {
		return nil, err
	}
	if req.Fingerprint.Scope != lic.Product {
		return nil, fmt.Errorf("%w: fingerprint taken for %q, license is for %q", ErrRequestRefused, req.Fingerprint.Scope, lic.Product)
	}
	custID, _, err := l.recordLicense(tx, lic, req.License, nil)
	if err != nil {
		return nil, err
	}
	var suspended bool
	var recommissions int
	var contact string
	if err := tx.QueryRow(`SELECT suspended, recommissions, contact FROM customers WHERE id = ?`, custID).Scan(&suspended, &recommissions, &contact); err != nil {
		return nil, err
	}
	if suspended {
		return nil, fmt.Errorf("%w: %s (too many recommissions; an operator can lift it)", ErrSuspended, lic.Customer)
	}
	var overageAllowed bool
	var priceCents int64
	var notifiedThreshold, notifiedFull bool
	var policyBytes []byte
	if err := tx.QueryRow(`SELECT overage_allowed, overage_price_cents, notified_threshold, notified_full, policy FROM licenses WHERE id = ?`, lic.ID[:]).
		Scan(&overageAllowed, &priceCents, &notifiedThreshold, &notifiedFull, &policyBytes); err != nil {
		return nil, err
	}
	policy := &fingerprint.DefaultPolicy
	if policyBytes != nil {
		if policy, err = fingerprint.ParsePolicy(policyBytes); err != nil {
			return nil, err
		}
	}
	if self := fingerprint.Match(req.Fingerprint, req.Fingerprint, policy); !self.Same {
		return nil, fmt.Errorf("%w: the machine shows too little hardware identity to be recognised later: %s", ErrRequestRefused, self.Reason())
	}
	dev, status, err := l.identify(tx, lic.ID, req.Fingerprint, policy)
	if err != nil {
		return nil, err
	}
	res := &Result{Label: req.Label, License: lic.ID, Customer: lic.Customer, Failover: req.Failover}
	fpBytes, _ := req.Fingerprint.MarshalBinary()
	takesSeat := false
	switch {
	case dev != nil && status != "decommissioned":
		res.Outcome, res.Device = SameDevice, *dev
		if err := tx.QueryRow(`SELECT overage, failover FROM devices WHERE id = ?`, dev[:]).Scan(&res.Overage, &res.Failover); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(`UPDATE devices SET label = ?, fingerprint = ?, last_activated = ? WHERE id = ?`, req.Label, fpBytes, now.Unix(), dev[:]); err != nil {
			return nil, err
		}
	case dev != nil:
		if recommissions+1 > l.RecommissionLimit {
			return nil, &suspendError{custID: custID, customer: lic.Customer, lic: lic.ID, dev: *dev}
		}
		res.Outcome, res.Device, takesSeat = Recommissioned, *dev, true
	default:
		res.Outcome, res.Device, takesSeat = NewDevice, activation.NewDeviceID(), true
	}
	if takesSeat {
		used, failovers, err := l.usage(tx, lic.ID)
		if err != nil {
			return nil, err
		}
		switch {
		case req.Failover && failovers >= lic.Failover:
			return nil, fmt.Errorf("%w: %d of %d", ErrFailoverExhausted, failovers, lic.Failover)
		case req.Failover:
		case used >= lic.Seats && !overageAllowed:
			return nil, fmt.Errorf("%w: %d of %d seats used on %s", ErrSeatsExhausted, used, lic.Seats, lic.ID)
		case used >= lic.Seats:
			res.Overage = true
		}
		if res.Outcome == Recommissioned {
			if _, err := tx.Exec(`UPDATE devices SET status = 'recommissioned', label = ?, fingerprint = ?, last_activated = ?, overage = ?, failover = ? WHERE id = ?`,
				req.Label, fpBytes, now.Unix(), res.Overage, res.Failover, res.Device[:]); err != nil {
				return nil, err
			}
			if _, err := tx.Exec(`UPDATE customers SET recommissions = recommissions + 1 WHERE id = ?`, custID); err != nil {
				return nil, err
			}
		} else if _, err := tx.Exec(`INSERT INTO devices (id, license_id, label, status, failover, overage, fingerprint, first_activated, last_activated) VALUES (?, ?, ?, 'active', ?, ?, ?, ?, ?)`,
			res.Device[:], lic.ID[:], req.Label, res.Failover, res.Overage, fpBytes, now.Unix(), now.Unix()); err != nil {
			return nil, err
		}
		if !req.Failover {
			if err := l.notifyUsage(tx, custID, contact, lic, used+1, res.Overage, priceCents, notifiedThreshold, notifiedFull, res.Device); err != nil {
				return nil, err
			}
		}
	}
	if err := indexDigests(tx, lic.ID, res.Device, req.Fingerprint); err != nil {
		return nil, err
	}
	claims := activation.Claims{ID: activation.NewID(), License: lic.ID, Device: res.Device, IssuedAt: now,
		Fingerprint: req.Fingerprint.Hardware(), Overage: res.Overage, Failover: res.Failover}
	if lic.Kind == license.Subscription {
		claims.Expires = lic.Expires
	}
	if *policy != fingerprint.DefaultPolicy {
		claims.Policy = policy
	}
	payload, err := claims.Marshal()
	if err != nil {
		return nil, err
	}
	if res.Token, err = key.Sign(license.TypeActivation, payload); err != nil {
		return nil, err
	}
	res.Activation = claims.ID
	if _, err := tx.Exec(`INSERT INTO activations (id, device_id, license_id, request_hash, issued_at, token) VALUES (?, ?, ?, ?, ?, ?)`,
		claims.ID[:], res.Device[:], lic.ID[:], reqHash, now.Unix(), res.Token); err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("label %q, %s", req.Label, res.Outcome)
	if res.Overage {
		detail += ", overage"
	}
	if res.Failover {
		detail += ", failover"
	}
	return res, l.event(tx, "activated", custID, lic.ID[:], res.Device[:], detail)
}

// usage counts the seats taken (active and recommissioned devices that are
// not failover) and the failover installations in use. Per-deployment
// licenses count every device ever activated.
func (l *Ledger) usage(tx *sql.Tx, lic license.ID) (seats, failovers int, err error) {
	err = tx.QueryRow(`SELECT
		COALESCE(SUM(CASE WHEN d.failover = 0 AND (d.status <> 'decommissioned' OR l.kind = ?) THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN d.failover = 1 AND d.status <> 'decommissioned' THEN 1 ELSE 0 END), 0)
		FROM devices d JOIN licenses l ON l.id = d.license_id WHERE d.license_id = ?`, int(license.PerDeployment), lic[:]).Scan(&seats, &failovers)
	return
}

// identify finds the known device of this license that the fingerprint
// matches under policy: candidates come from the digest index (no scan), the
// best-scoring match wins.
func (l *Ledger) identify(tx *sql.Tx, lic license.ID, fp *fingerprint.Fingerprint, policy *fingerprint.Policy) (*activation.DeviceID, string, error) {
	var digests []any
	for _, c := range fingerprint.Components() {
		if c.Class() == fingerprint.Identity {
			for _, d := range fp.Components[c] {
				digests = append(digests, d[:])
			}
		}
	}
	if len(digests) == 0 {
		return nil, "", nil
	}
	q := `SELECT d.id, d.status, d.fingerprint FROM devices d WHERE d.id IN (
		SELECT DISTINCT device_id FROM device_digests WHERE license_id = ? AND digest IN (?` + strings.Repeat(",?", len(digests)-1) + `))`
	rows, err := tx.Query(q, append([]any{lic[:]}, digests...)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var best *activation.DeviceID
	var bestStatus string
	var bestScore uint32
	for rows.Next() {
		var id, fpb []byte
		var status string
		if err := rows.Scan(&id, &status, &fpb); err != nil {
			return nil, "", err
		}
		known, err := fingerprint.ParseFingerprint(fpb)
		if err != nil {
			return nil, "", fmt.Errorf("ledger: stored fingerprint of %x: %w", id, err)
		}
		if r := fingerprint.Match(known, fp, policy); r.Same && (best == nil || r.Score > bestScore) {
			var d activation.DeviceID
			copy(d[:], id)
			best, bestStatus, bestScore = &d, status, r.Score
		}
	}
	return best, bestStatus, rows.Err()
}

// indexDigests makes the device findable by every identity digest it has now.
func indexDigests(tx *sql.Tx, lic license.ID, dev activation.DeviceID, fp *fingerprint.Fingerprint) error {
	if _, err := tx.Exec(`DELETE FROM device_digests WHERE device_id = ?`, dev[:]); err != nil {
		return err
	}
	for _, c := range fingerprint.Components() {
		if c.Class() != fingerprint.Identity {
			continue
		}
		for _, d := range fp.Components[c] {
			if _, err := tx.Exec(`INSERT INTO device_digests (license_id, digest, device_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, lic[:], d[:], dev[:]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l *Ledger) suspend(e *suspendError) error {
	err := l.tx(func(tx *sql.Tx) error {
		if _, err := tx.Exec(`UPDATE customers SET suspended = 1 WHERE id = ?`, e.custID); err != nil {
			return err
		}
		return l.event(tx, "suspended", e.custID, e.lic[:], e.dev[:], fmt.Sprintf("recommission limit %d exceeded", l.RecommissionLimit))
	})
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s would exceed %d recommissions", ErrSuspended, e.customer, l.RecommissionLimit)
}

func (l *Ledger) notifyUsage(tx *sql.Tx, custID int64, contact string, lic *verifier.License, used int, overage bool, priceCents int64, notifiedThreshold, notifiedFull bool, dev activation.DeviceID) error {
	note := func(kind, subject, body string) error {
		_, err := tx.Exec(`INSERT INTO notifications (at, customer_id, license_id, kind, recipient, subject, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			l.now().Unix(), custID, lic.ID[:], kind, contact, subject, body)
		return err
	}
	if overage {
		return note("overage", fmt.Sprintf("%s: device over the seat limit", lic.Product),
			fmt.Sprintf("License %s (%s, %d seats) now has %d devices. Device %s is an overage device and is billed at %s.", lic.ID, lic.Product, lic.Seats, used, dev, money(priceCents)))
	}
	if !notifiedThreshold && used*100 >= l.NotifyAt*lic.Seats && used < lic.Seats {
		if _, err := tx.Exec(`UPDATE licenses SET notified_threshold = 1 WHERE id = ?`, lic.ID[:]); err != nil {
			return err
		}
		return note("usage-threshold", fmt.Sprintf("%s: %d of %d seats in use", lic.Product, used, lic.Seats),
			fmt.Sprintf("License %s uses %d of its %d seats (%d%%).", lic.ID, used, lic.Seats, used*100/lic.Seats))
	}
	if !notifiedFull && used >= lic.Seats {
		if _, err := tx.Exec(`UPDATE licenses SET notified_full = 1, notified_threshold = 1 WHERE id = ?`, lic.ID[:]); err != nil {
			return err
		}
		return note("usage-full", fmt.Sprintf("%s: all %d seats in use", lic.Product, lic.Seats),
			fmt.Sprintf("License %s uses all of its %d seats.", lic.ID, lic.Seats))
	}
	return nil
}

func money(cents int64) string { return fmt.Sprintf("%d.%02d USD", cents/100, cents%100) }

// Decommission frees the seat of each device.
func (l *Ledger) Decommission(dev activation.DeviceID) error {
	return l.tx(func(tx *sql.Tx) error {
		var status string
		var kind int
		var custID int64
		var lic []byte
		var upgrades sql.NullInt64
		err := tx.QueryRow(`SELECT d.status, l.kind, l.customer_id, l.id, l.upgrades_until FROM devices d JOIN licenses l ON l.id = d.license_id WHERE d.id = ?`, dev[:]).
			Scan(&status, &kind, &custID, &lic, &upgrades)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrUnknownDevice, dev)
		} else if err != nil {
			return err
		}
		switch {
		case license.Kind(kind) == license.PerDeployment:
			return fmt.Errorf("%w (%s)", ErrPerDeployment, dev)
		case license.Kind(kind) == license.Perpetual && upgrades.Valid && upgrades.Int64 < l.now().Unix():
			return fmt.Errorf("%w: support ended %s", ErrNoSupport, time.Unix(upgrades.Int64, 0).UTC().Format(time.DateOnly))
		case status == "decommissioned":
			return fmt.Errorf("%w: %s is already decommissioned", ErrNotActive, dev)
		}
		if _, err := tx.Exec(`UPDATE devices SET status = 'decommissioned', overage = 0 WHERE id = ?`, dev[:]); err != nil {
			return err
		}
		var id license.ID
		copy(id[:], lic)
		if used, _, err := l.usage(tx, id); err != nil {
			return err
		} else if _, err := tx.Exec(`UPDATE licenses SET notified_threshold = CASE WHEN ? * 100 < ? * seats THEN 0 ELSE notified_threshold END,
			notified_full = CASE WHEN ? < seats THEN 0 ELSE notified_full END WHERE id = ?`, used, l.NotifyAt, used, lic); err != nil {
			return err
		}
		return l.event(tx, "decommissioned", custID, lic, dev[:], "")
	})
}

// Unsuspend lets a suspended customer activate again and resets its count.
func (l *Ledger) Unsuspend(customer string) error {
	return l.tx(func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRow(`SELECT id FROM customers WHERE name = ?`, customer).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %q", ErrUnknownCustomer, customer)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE customers SET suspended = 0, recommissions = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		return l.event(tx, "unsuspended", id, nil, nil, "")
	})
}
