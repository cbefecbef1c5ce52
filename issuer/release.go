package issuer

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/seatkey/seatkey/license"
)

// The release catalog: which versions of each product exist and when each
// came out. It decides what a license may run (Entitlement) and which majors
// are legacy: a major is legacy once two newer majors have been released,
// and a legacy major gets no new minor releases (patches only).

// Release refusals.
var (
	ErrLegacyMajor      = errors.New("legacy major: no new minor releases")
	ErrReleaseExists    = errors.New("release already in the catalog")
	ErrReleaseOutOfTurn = errors.New("release dated before an earlier version of the same line")
)

const releaseMigration = `CREATE TABLE releases (
		product TEXT NOT NULL,
		version TEXT NOT NULL,
		major INTEGER NOT NULL,
		minor INTEGER NOT NULL,
		patch INTEGER NOT NULL,
		pre TEXT NOT NULL,
		released_at INTEGER NOT NULL,
		PRIMARY KEY (product, major, minor, patch, pre)
	);`

// Release is one version of a product.
type Release struct {
	Product  string          `json:"product"`
	Version  license.Version `json:"version"`
	Released time.Time       `json:"released"` // the start of that day, UTC
	Legacy   bool            `json:"legacy"`   // two newer majors have been released
}

// AddRelease records a release of product. A minor release of a legacy
// major is refused (bug-fix patches stay possible); pre-releases count for
// nothing when deciding what is legacy.
func (l *Ledger) AddRelease(product string, v license.Version, released time.Time) error {
	if product == "" {
		return fmt.Errorf("%w: no product", license.ErrInvalidClaims)
	}
	released = released.UTC().Truncate(24 * time.Hour)
	return l.tx(func(tx *sql.Tx) error {
		rs, err := releases(tx, product)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Version.Compare(v) == 0 {
				return fmt.Errorf("%w: %s %s (released %s)", ErrReleaseExists, product, r.Version, r.Released.Format(time.DateOnly))
			}
		}
		// A release may not be dated before a lower version of its own major:
		// backdating would get round the legacy rule and upgrade protection.
		for _, r := range rs {
			if r.Version.Major == v.Major && r.Version.Compare(v) < 0 && released.Before(r.Released) {
				return fmt.Errorf("%w: %s %s dated %s, before %s (released %s)", ErrReleaseOutOfTurn, product, v,
					released.Format(time.DateOnly), r.Version, r.Released.Format(time.DateOnly))
			}
		}
		if v.Pre == "" && isLegacy(rs, v.Major, released) && !hasMinor(rs, v.Major, v.Minor) {
			newer := newerMajors(rs, v.Major, released)
			return fmt.Errorf("%w: %s %d.x is legacy since %d.x and %d.x came out; %s would be a new minor release (only patches of released minors are allowed)",
				ErrLegacyMajor, product, v.Major, newer[0], newer[1], v)
		}
		if _, err := tx.Exec(`INSERT INTO releases (product, version, major, minor, patch, pre, released_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			product, v.String(), v.Major, v.Minor, v.Patch, v.Pre, released.Unix()); err != nil {
			return err
		}
		return l.event(tx, "release-added", 0, nil, nil, fmt.Sprintf("%s %s released %s", product, v, released.Format(time.DateOnly)))
	})
}

// Releases lists a product's releases, oldest version first, each marked
// legacy as of now.
func (l *Ledger) Releases(product string) ([]Release, error) {
	rs, err := releases(l.db, product)
	if err != nil {
		return nil, err
	}
	now := l.now()
	for i := range rs {
		rs[i].Legacy = isLegacy(rs, rs[i].Version.Major, now)
	}
	return rs, nil
}

// querier is a transaction or the database: reads need no write lock.
type querier interface {
	Query(query string, args ...any) (*sql.Rows, error)
}

func releases(q querier, product string) ([]Release, error) {
	rows, err := q.Query(`SELECT version, released_at FROM releases WHERE product = ?`, product)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []Release
	for rows.Next() {
		var s string
		var at int64
		if err := rows.Scan(&s, &at); err != nil {
			return nil, err
		}
		v, err := license.ParseVersion(s)
		if err != nil {
			return nil, fmt.Errorf("ledger: release %q: %w", s, err)
		}
		rs = append(rs, Release{Product: product, Version: v, Released: time.Unix(at, 0).UTC()})
	}
	slices.SortFunc(rs, func(a, b Release) int { return a.Version.Compare(b.Version) })
	return rs, rows.Err()
}

// newerMajors lists the majors above m with a final (not pre-) release on or
// before at, in ascending order.
func newerMajors(rs []Release, m int, at time.Time) []int {
	var out []int
	for _, r := range rs {
		if r.Version.Major > m && r.Version.Pre == "" && !r.Released.After(at) && !slices.Contains(out, r.Version.Major) {
			out = append(out, r.Version.Major)
		}
	}
	slices.Sort(out)
	return out
}

func isLegacy(rs []Release, m int, at time.Time) bool { return len(newerMajors(rs, m, at)) >= 2 }

func hasMinor(rs []Release, major, minor int) bool {
	for _, r := range rs {
		if r.Version.Major == major && r.Version.Minor == minor && r.Version.Pre == "" {
			return true
		}
	}
	return false
}

// Entitlement is what a license may run, from the catalog.
type Entitlement struct {
	Newest        *Release // the newest release the license covers; nil when none does
	CoveredMajors []int    // majors it may run some release of
}

// Entitled applies SPEC.md's version rule to one release: any release of
// the licensed major or an older one; a newer major (or, with no licensed
// major, any release) only if it came out on or before the end of upgrade
// protection.
func Entitled(c *license.Claims, r *Release) bool {
	if c.Major == 0 && c.UpgradesUntil.IsZero() {
		return true
	}
	if c.Major != 0 && r.Version.Major <= c.Major {
		return true
	}
	return !c.UpgradesUntil.IsZero() && !r.Released.After(c.UpgradesUntil)
}

// Entitlement says which of the product's releases c covers.
func (l *Ledger) Entitlement(c *license.Claims) (*Entitlement, error) {
	rs, err := l.Releases(c.Product)
	if err != nil {
		return nil, err
	}
	e := &Entitlement{}
	for i := range rs {
		if !Entitled(c, &rs[i]) {
			continue
		}
		if e.Newest == nil || rs[i].Version.Compare(e.Newest.Version) > 0 {
			e.Newest = &rs[i]
		}
		if !slices.Contains(e.CoveredMajors, rs[i].Version.Major) {
			e.CoveredMajors = append(e.CoveredMajors, rs[i].Version.Major)
		}
	}
	return e, nil
}
