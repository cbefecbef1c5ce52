package issuer

import (
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

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
	// MigrationUntil is when a server migration's grace ends (the
	// activation expires then); zero: not a migration.
	MigrationUntil time.Time
	// Expires is when the activation token expires (a subscription's end,
	// a migration's grace end, a lease); zero: never.
	Expires time.Time
}

// Activate processes one request in four steps, in one transaction (a
// refusal or a crash changes nothing): identify the license, customer and
// device; decide the seat (a pure function of the license and its usage);
// persist the device, its fingerprint revision and the superseded
// activations; sign the activation with key. SPEC.md section 10.4 is the
// rule. A refusal that the vendor must hear of (suspension, an identity
// conflict) is recorded after the roll-back, on its own.
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
		return nil, l.suspend(se)
	}
	var ce *conflictError
	if errors.As(err, &ce) {
		return nil, l.flagConflict(ce)
	}
	return res, err
}

// pending is one request on its way through the steps.
type pending struct {
	req     *activation.Request
	reqHash []byte
	lic     *verifier.License
	acct    *account
	dev     *knownDevice // nil: a new device
	outcome Outcome
	// enrolled is what the device is enrolled with from now on: the
	// request's fingerprint, and for a known device the stored values of
	// the (optional) components the request lacks. fp is its encoding.
	enrolled *fingerprint.Fingerprint
	fp       []byte
	policy   *fingerprint.Policy    // the device is identified and verified under it
	cred     *activation.Credential // sealed to the request's TPM, if it attested
}

func (l *Ledger) activate(tx *sql.Tx, key *Key, req *activation.Request, reqHash []byte) (*Result, error) {
	now := l.now()
	if err := checkSigningKey(tx, key.ID(), now); err != nil {
		return nil, err
	}
	if err := recordKey(tx, key.Public(), now); err != nil {
		return nil, err
	}
	if res, err := l.replayed(tx, reqHash); res != nil || err != nil {
		return res, err
	}
	p := &pending{req: req, reqHash: reqHash}
	if err := l.identify(tx, key, p); err != nil {
		return nil, err
	}
	if p.dev != nil && p.outcome == SameDevice && !p.dev.migrationUntil.IsZero() && !now.Before(p.dev.migrationUntil) {
		return nil, fmt.Errorf("%w: %w: device %s was migrating until %s and the machine it replaces is still active: decommission one of them",
			ErrRequestRefused, ErrMigrationOver, p.dev.id, p.dev.migrationUntil.Format(time.DateOnly))
	}
	if p.outcome == Recommissioned && p.acct.recommissions+1 > l.RecommissionLimit {
		return nil, &suspendError{custID: p.acct.custID, customer: p.lic.Customer, lic: p.lic.ID, dev: p.dev.id}
	}
	dec, err := decideSeat(p.acct.seats, p.outcome, req.Failover)
	if err != nil {
		return nil, err
	}
	switch {
	case req.Attestation != nil:
		if p.cred, err = l.credential(req); err != nil {
			return nil, err
		}
	case p.dev != nil && p.dev.attested:
		return nil, fmt.Errorf("%w: %w: device %s was activated bound to its TPM: a request for it must attest again (seatkey request --attest)", ErrRequestRefused, ErrAttestation, p.dev.id)
	}
	res, err := l.persist(tx, p, dec)
	if err != nil {
		return nil, err
	}
	return res, l.sign(tx, key, p, res)
}

// replayed returns the activation a request got before, if it is still
// live: a request whose activation was revoked or superseded is spent.
func (l *Ledger) replayed(tx *sql.Tx, reqHash []byte) (*Result, error) {
	var prev Result
	var actID, devID, licID []byte
	var reason sql.NullInt64
	err := tx.QueryRow(`SELECT a.id, a.device_id, a.license_id, a.token, d.label, d.overage, d.failover, r.reason
		FROM activations a JOIN devices d ON d.id = a.device_id
		LEFT JOIN revocations r ON r.kind = 'activation' AND r.id = a.id AND r.active = 1
		WHERE a.request_hash = ?`, reqHash).
		Scan(&actID, &devID, &licID, &prev.Token, &prev.Label, &prev.Overage, &prev.Failover, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	copy(prev.Activation[:], actID)
	copy(prev.Device[:], devID)
	copy(prev.License[:], licID)
	if err := checkLicenseRevoked(tx, prev.License); err != nil {
		return nil, err
	}
	var token []byte
	if err := tx.QueryRow(`SELECT token FROM licenses WHERE id = ?`, licID).Scan(&token); err != nil {
		return nil, err
	}
	lt, err := license.Inspect(token) // verified when it was recorded
	if err != nil {
		return nil, err
	}
	if err := checkLicenseKey(tx, lt.KeyID, lt.Claims.IssuedAt); err != nil {
		return nil, err
	}
	switch {
	case reason.Valid && license.Reason(reason.Int64) == license.ReasonSuperseded:
		return nil, fmt.Errorf("%w: this request was used before and its activation %s has been superseded: create a new request", ErrRequestRefused, prev.Activation)
	case reason.Valid:
		return nil, fmt.Errorf("%w: %s (%s)", ErrDeviceRevoked, prev.Activation, license.Reason(reason.Int64))
	}
	prev.Outcome = Replayed
	if c, _, _, err := activation.Inspect(prev.Token); err == nil { // signed by this ledger
		prev.Expires = c.Expires
	}
	return &prev, nil
}

// sign issues the activation token and records it.
func (l *Ledger) sign(tx *sql.Tx, key *Key, p *pending, res *Result) error {
	now := l.now()
	claims := activation.Claims{ID: activation.NewID(), License: p.lic.ID, Device: res.Device, IssuedAt: now,
		Fingerprint: p.enrolled.Hardware(), Overage: res.Overage, Failover: res.Failover}
	if p.lic.Kind == license.Subscription {
		claims.Expires = p.lic.Expires
	}
	if !res.MigrationUntil.IsZero() && (claims.Expires.IsZero() || res.MigrationUntil.Before(claims.Expires)) {
		claims.Expires = res.MigrationUntil // offline machines end the migration too
	}
	claims.Expires = leaseEnd(now, p.acct.lease, claims.Expires) // a leased activation lives until its next check-in
	if *p.policy != fingerprint.DefaultPolicy {
		claims.Policy = p.policy
	}
	claims.Credential = p.cred
	payload, err := claims.Marshal()
	if err != nil {
		return err
	}
	if res.Token, err = key.Sign(license.TypeActivation, payload); err != nil {
		return err
	}
	res.Activation, res.Expires = claims.ID, claims.Expires
	if _, err := tx.Exec(`INSERT INTO activations (id, device_id, license_id, request_hash, issued_at, token, expires) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		claims.ID[:], res.Device[:], p.lic.ID[:], p.reqHash, now.Unix(), res.Token, nullTime(claims.Expires)); err != nil {
		return err
	}
	detail := fmt.Sprintf("label %q, %s", p.req.Label, res.Outcome)
	if res.Overage {
		detail += ", overage"
	}
	if res.Failover {
		detail += ", failover"
	}
	return l.event(tx, "activated", p.acct.custID, p.lic.ID[:], res.Device[:], detail)
}

// suspendError asks Activate to suspend a customer after rolling back.
type suspendError struct {
	custID   int64
	customer string
	lic      license.ID
	dev      activation.DeviceID
}

func (e *suspendError) Error() string { return "suspend " + e.customer }

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

// conflictError asks Activate to flag an identity conflict after rolling back.
type conflictError struct {
	lic     *verifier.License
	token   []byte // the license, to record it if the request was its first sight
	label   string
	devices []string // dev_... of this license
	others  []string // dev_... (lic_...) of other licenses
}

func (e *conflictError) Error() string { return "identity conflict" }

func (e *conflictError) detail() string {
	var parts []string
	if len(e.devices) > 0 {
		parts = append(parts, "devices "+strings.Join(e.devices, ", ")+" of this license")
	}
	if len(e.others) > 0 {
		parts = append(parts, "active devices "+strings.Join(e.others, ", ")+" of other customers' licenses")
	}
	return fmt.Sprintf("request labelled %q shares hardware identity with %s", e.label, strings.Join(parts, " and "))
}

// flagConflict records the refused request for the vendor: an event
// "flagged" and a notification "identity-conflict" to the operators.
func (l *Ledger) flagConflict(e *conflictError) error {
	detail := e.detail()
	err := l.tx(func(tx *sql.Tx) error {
		custID, _, err := l.recordLicense(tx, e.lic, e.token, nil)
		if err != nil {
			return err
		}
		if err := l.event(tx, "flagged", custID, e.lic.ID[:], nil, "identity conflict: "+detail); err != nil {
			return err
		}
		return l.note(tx, custID, e.lic.ID, "identity-conflict", l.OperatorContact,
			fmt.Sprintf("%s: activation refused, hardware identity shared (%s)", e.lic.Product, e.lic.Customer),
			fmt.Sprintf("License %s (%s): a %s. No seat was taken. A part moved between machines explains this once; "+
				"a crafted request explains it too. The customer was told to contact you.", e.lic.ID, e.lic.Customer, detail))
	})
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %w: %s; if a part moved between machines, decommission the machine it came from or contact the vendor",
		ErrRequestRefused, ErrIdentityConflict, detail)
}

// note records a notification.
func (l *Ledger) note(tx *sql.Tx, custID int64, lic license.ID, kind, recipient, subject, body string) error {
	_, err := tx.Exec(`INSERT INTO notifications (at, customer_id, license_id, kind, recipient, subject, body) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		l.now().Unix(), custID, lic[:], kind, recipient, subject, body)
	return err
}
