package issuer

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/license"
)

// account is what the ledger knows of a license and its customer.
type account struct {
	custID            int64
	suspended         bool
	contact           string
	recommissions     int // the customer's, against the limit
	seats             seatState
	priceCents        int64
	notifiedThreshold bool
	notifiedFull      bool
	policy            *fingerprint.Policy // the license's own policy; nil: by each device's platform
	lease             int64               // seconds; 0: none (SPEC 10.4 rule 12)
}

// policyFor is the policy a device enrolled with fp is identified and
// verified under: the license's own if it has one, else the one for the
// device's platform (fingerprint.PolicyFor: VMs by their hypervisor
// identity, physical machines by the default rule).
func (a *account) policyFor(fp *fingerprint.Fingerprint) *fingerprint.Policy {
	if a.policy != nil {
		return a.policy
	}
	return fingerprint.PolicyFor(fp)
}

// knownDevice is a device of the license as the ledger has it.
type knownDevice struct {
	id       activation.DeviceID
	status   string
	overage  bool
	failover bool
	fp       *fingerprint.Fingerprint
	// migrationUntil is when its server-migration grace ends; zero: not migrating.
	migrationUntil time.Time
	attested       bool // bound to a TPM once: every later request must attest
}

// identify checks the request's license and finds its device (SPEC 10.4
// rules 1, 3 and 4), filling p.lic, p.acct, p.dev and p.outcome.
func (l *Ledger) identify(tx *sql.Tx, key *Key, p *pending) error {
	req := p.req
	lic, err := l.verifyLicense(tx, key, req.License)
	if err != nil {
		return err
	}
	if req.Fingerprint.Scope != lic.Product {
		return fmt.Errorf("%w: fingerprint taken for %q, license is for %q", ErrRequestRefused, req.Fingerprint.Scope, lic.Product)
	}
	if err := checkLicenseRevoked(tx, lic.ID); err != nil {
		return err
	}
	custID, _, err := l.recordLicense(tx, lic, req.License, nil)
	if err != nil {
		return err
	}
	if err := checkRevision(tx, &lic.Claims); err != nil {
		return err
	}
	p.lic = lic
	if p.acct, err = l.account(tx, custID, lic.ID); err != nil {
		return err
	}
	if p.acct.suspended {
		return fmt.Errorf("%w: %s (too many recommissions; an operator can lift it)", ErrSuspended, lic.Customer)
	}
	if self := fingerprint.Match(req.Fingerprint, req.Fingerprint, p.acct.policyFor(req.Fingerprint)); !self.Same {
		return fmt.Errorf("%w: the machine shows too little hardware identity to be recognised later: %s", ErrRequestRefused, self.Reason())
	}
	id, err := l.findDevice(tx, lic.ID, req.Fingerprint, p.acct)
	if err != nil {
		return err
	}
	others, err := otherCustomersDevices(tx, lic.ID, lic.Product, custID, req.Fingerprint)
	if err != nil {
		return err
	}
	if len(id.sharing) >= 2 || len(others) > 0 {
		ce := &conflictError{lic: lic, token: req.License, label: req.Label, others: others}
		for _, d := range id.sharing {
			ce.devices = append(ce.devices, d.String())
		}
		return ce
	}
	if id.best == nil && id.missing != nil {
		var names []string
		for _, c := range id.missing.Components {
			if c.Required {
				names = append(names, c.Component.String())
			}
		}
		return fmt.Errorf("%w: the request matches device %s except that %s, read when it was activated, cannot be read now: "+
			"create the request as the same user as before (hidden components are refused)", ErrRequestRefused, id.missingDev, strings.Join(names, ", "))
	}
	p.dev = id.best
	p.enrolled = req.Fingerprint
	p.policy = p.acct.policyFor(req.Fingerprint)
	if p.dev != nil {
		p.enrolled = carryMissing(p.dev.fp, req.Fingerprint)
		p.policy = p.acct.policyFor(p.dev.fp)
	}
	if p.fp, err = p.enrolled.MarshalBinary(); err != nil {
		return err
	}
	switch {
	case p.dev == nil:
		p.outcome = NewDevice
		return nil
	case p.dev.status == "decommissioned":
		p.outcome = Recommissioned
	default:
		p.outcome = SameDevice
	}
	return checkDeviceRevoked(tx, p.dev.id)
}

// account reads the license's terms, usage and customer.
func (l *Ledger) account(tx *sql.Tx, custID int64, lic license.ID) (*account, error) {
	a := &account{custID: custID}
	var policy []byte
	var kind int
	var grace int64
	if err := tx.QueryRow(`SELECT c.suspended, c.recommissions, c.contact, l.kind, l.seats, l.failover, l.overage_allowed, l.overage_price_cents,
		l.notified_threshold, l.notified_full, l.policy, l.migration_grace, l.migrations_per_year, l.lease FROM licenses l JOIN customers c ON c.id = l.customer_id WHERE l.id = ?`, lic[:]).
		Scan(&a.suspended, &a.recommissions, &a.contact, &kind, &a.seats.Seats, &a.seats.Failover, &a.seats.OverageAllowed, &a.priceCents,
			&a.notifiedThreshold, &a.notifiedFull, &policy, &grace, &a.seats.MigrationCap, &a.lease); err != nil {
		return nil, err
	}

	a.seats.MigrationGrace = time.Duration(grace) * time.Second
	if dev, until, ok, err := migration(tx, lic); err != nil {
		return nil, err
	} else if ok {
		a.seats.Migrating, a.seats.MigrationUntil = &dev, until
	}
	a.seats.Kind = license.Kind(kind)
	if policy != nil {
		var err error
		if a.policy, err = fingerprint.ParsePolicy(policy); err != nil {
			return nil, fmt.Errorf("ledger: policy of %s: %w", lic, err)
		}
	}
	var err error
	if a.seats.Used, a.seats.FailoversUsed, err = usage(tx, lic); err != nil {
		return nil, err
	}
	// The migration cap matters only when a migration could start.
	if grace > 0 && a.seats.MigrationCap >= 0 && !a.seats.OverageAllowed && a.seats.Used >= a.seats.Seats {
		a.seats.MigrationsStarted, a.seats.OldestMigration, err = migrationsStarted(tx, lic, l.now())
	}
	return a, err
}

// identity is what the ledger knows of a request's hardware.
type identity struct {
	best       *knownDevice          // the device the request matches, if any
	sharing    []activation.DeviceID // devices in use whose fingerprint shares an identity value with the request
	missing    *fingerprint.Result   // the best candidate, refused only for missing-required components
	missingDev activation.DeviceID
}

// identityDigests lists the request's identity values, as query arguments.
func identityDigests(fp *fingerprint.Fingerprint) []any {
	var digests []any
	for _, c := range fingerprint.Components() {
		if c.Class() == fingerprint.Identity {
			for _, d := range fp.Components[c] {
				digests = append(digests, d[:])
			}
		}
	}
	return digests
}

func placeholders(n int) string { return "?" + strings.Repeat(",?", n-1) }

// sharesIdentity reports whether a match saw an identity value on both sides.
func sharesIdentity(r *fingerprint.Result) bool {
	for _, c := range r.Components {
		if c.Component.Class() == fingerprint.Identity && c.Shared > 0 {
			return true
		}
	}
	return false
}

// findDevice finds the license's devices that share an identity digest with
// fp in any fingerprint revision they ever had (an index, no scan), and
// matches fp against each one's current fingerprint under policy.
func (l *Ledger) findDevice(tx *sql.Tx, lic license.ID, fp *fingerprint.Fingerprint, acct *account) (*identity, error) {
	id := &identity{}
	digests := identityDigests(fp)
	if len(digests) == 0 {
		return id, nil
	}
	q := `SELECT d.id, d.status, d.overage, d.failover, d.fingerprint, COALESCE(d.migration_until, 0), d.attested FROM devices d WHERE d.id IN (
		SELECT DISTINCT device_id FROM device_digests WHERE license_id = ? AND digest IN (` + placeholders(len(digests)) + `)) ORDER BY d.id`
	rows, err := tx.Query(q, append([]any{lic[:]}, digests...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var bestScore, missingScore uint32
	for rows.Next() {
		var dev knownDevice
		var devID, fpb []byte
		var until int64
		if err := rows.Scan(&devID, &dev.status, &dev.overage, &dev.failover, &fpb, &until, &dev.attested); err != nil {
			return nil, err
		}
		if until != 0 {
			dev.migrationUntil = time.Unix(until, 0).UTC()
		}
		copy(dev.id[:], devID)
		if dev.fp, err = fingerprint.ParseFingerprint(fpb); err != nil {
			return nil, fmt.Errorf("ledger: stored fingerprint of %s: %w", dev.id, err)
		}
		r := fingerprint.Match(dev.fp, fp, acct.policyFor(dev.fp))
		if dev.status != "decommissioned" && sharesIdentity(&r) {
			id.sharing = append(id.sharing, dev.id)
		}
		switch {
		case r.Same && (id.best == nil || r.Score > bestScore):
			d := dev
			id.best, bestScore = &d, r.Score
		case r.OnlyMissing() && (id.missing == nil || r.Score > missingScore):
			rr := r
			id.missing, id.missingDev, missingScore = &rr, dev.id, r.Score
		}
	}
	return id, rows.Err()
}

// otherCustomersDevices lists the active devices of other customers'
// licenses of the same product whose current fingerprint shares an identity
// value with fp. A customer's own licenses are left out: a renewal or an
// upgrade moves its machines from one license to the next.
func otherCustomersDevices(tx *sql.Tx, lic license.ID, product string, custID int64, fp *fingerprint.Fingerprint) ([]string, error) {
	digests := identityDigests(fp)
	if len(digests) == 0 {
		return nil, nil
	}
	q := `SELECT d.id, d.license_id, d.fingerprint FROM devices d JOIN licenses l ON l.id = d.license_id
		WHERE d.id IN (SELECT DISTINCT device_id FROM device_digests WHERE digest IN (` + placeholders(len(digests)) + `))
		AND d.license_id <> ? AND d.status <> 'decommissioned' AND l.product = ? AND l.customer_id <> ? ORDER BY d.id`
	rows, err := tx.Query(q, append(digests, lic[:], product, custID)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var devID, licID, fpb []byte
		if err := rows.Scan(&devID, &licID, &fpb); err != nil {
			return nil, err
		}
		known, err := fingerprint.ParseFingerprint(fpb)
		if err != nil {
			return nil, fmt.Errorf("ledger: stored fingerprint of %x: %w", devID, err)
		}
		if r := fingerprint.Match(known, fp, &fingerprint.DefaultPolicy); sharesIdentity(&r) {
			out = append(out, fmt.Sprintf("%s (%s)", license.AppendID(nil, "dev", devID), license.AppendID(nil, "lic", licID)))
		}
	}
	return out, rows.Err()
}

// checkDeviceRevoked refuses a device one of whose activations the vendor
// revoked (superseded activations are the ledger's own bookkeeping).
func checkDeviceRevoked(tx *sql.Tx, dev activation.DeviceID) error {
	var act []byte
	var reason int
	err := tx.QueryRow(`SELECT a.id, r.reason FROM activations a JOIN revocations r ON r.kind = 'activation' AND r.id = a.id
		WHERE a.device_id = ? AND r.active = 1 AND r.reason <> ? LIMIT 1`, dev[:], int(license.ReasonSuperseded)).Scan(&act, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s, activation %s (%s); ask the vendor", ErrDeviceRevoked, dev, license.AppendID(nil, "act", act), license.Reason(reason))
}

// carryMissing is the fingerprint a known device is enrolled with from now
// on: the request's, which matched the stored one, plus the stored values of
// components the request could not show (only optional ones can be
// missing), so that a device never loses an identity value by hiding it.
func carryMissing(stored, req *fingerprint.Fingerprint) *fingerprint.Fingerprint {
	out := *req
	for _, c := range fingerprint.Components() {
		if !req.Has(c) && stored.Has(c) {
			out.Components[c] = stored.Components[c]
		}
	}
	return &out
}
