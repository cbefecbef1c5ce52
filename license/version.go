package license

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadVersion is a version string that is not X[.Y[.Z]][-pre][+build].
var ErrBadVersion = errors.New("malformed version")

// Version is a product version in semantic-versioning form. A pre-release
// ("4.0.0-rc1") and build metadata ("4.0.0+build.7") belong to their major:
// they are versions of it, not malformed. Build metadata never changes
// precedence (semver.org §10).
type Version struct {
	Major, Minor, Patch int
	Pre                 string // dot-separated identifiers after "-"; "" for a release
	Build               string // after "+"; ignored when comparing
}

// maxVersionLen bounds what ParseVersion reads.
const maxVersionLen = 128

// ParseVersion parses "X", "X.Y" or "X.Y.Z" (decimal, no leading zeros, at
// most 9 digits each, an optional "v" first), then an optional "-" and
// pre-release identifiers, then an optional "+" and build identifiers
// (identifiers are [0-9A-Za-z-]+; numeric pre-release identifiers have no
// leading zeros).
func ParseVersion(s string) (Version, error) {
	bad := func(why string) (Version, error) {
		return Version{}, fmt.Errorf("%w: %q: %s", ErrBadVersion, s, why)
	}
	if len(s) > maxVersionLen {
		return bad("too long")
	}
	t := strings.TrimPrefix(s, "v")
	var v Version
	if i := strings.IndexByte(t, '+'); i >= 0 {
		v.Build, t = t[i+1:], t[:i]
		if !identifiers(v.Build, false) {
			return bad("build metadata must be dot-separated [0-9A-Za-z-] identifiers")
		}
	}
	if i := strings.IndexByte(t, '-'); i >= 0 {
		v.Pre, t = t[i+1:], t[:i]
		if !identifiers(v.Pre, true) {
			return bad("pre-release must be dot-separated [0-9A-Za-z-] identifiers, numbers without leading zeros")
		}
	}
	parts := strings.Split(t, ".")
	if len(parts) > 3 {
		return bad("more than three numbers")
	}
	for i, p := range parts {
		if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') || strings.Trim(p, "0123456789") != "" {
			return bad("each of major, minor and patch is a decimal number without leading zeros")
		}
		n, _ := strconv.Atoi(p)
		switch i {
		case 0:
			v.Major = n
		case 1:
			v.Minor = n
		default:
			v.Patch = n
		}
	}
	return v, nil
}

func identifiers(s string, noLeadingZero bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
			return false
		}
		if noLeadingZero && len(id) > 1 && id[0] == '0' && strings.Trim(id, "0123456789") == "" {
			return false
		}
	}
	return true
}

// String is the canonical form: X.Y.Z, then -pre and +build if present.
func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if v.Pre != "" {
		s += "-" + v.Pre
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare orders versions by semantic-versioning precedence: -1, 0 or +1.
// A pre-release comes before its release; build metadata is ignored.
func (v Version) Compare(w Version) int {
	for _, d := range [3]int{v.Major - w.Major, v.Minor - w.Minor, v.Patch - w.Patch} {
		if d != 0 {
			return sign(d)
		}
	}
	switch {
	case v.Pre == w.Pre:
		return 0
	case v.Pre == "":
		return 1
	case w.Pre == "":
		return -1
	}
	a, b := strings.Split(v.Pre, "."), strings.Split(w.Pre, ".")
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := compareIdent(a[i], b[i]); c != 0 {
			return c
		}
	}
	return sign(len(a) - len(b))
}

func compareIdent(a, b string) int {
	na, ea := strconv.Atoi(a)
	nb, eb := strconv.Atoi(b)
	switch {
	case ea == nil && eb == nil:
		return sign(na - nb)
	case ea == nil:
		return -1 // numeric identifiers come before alphanumeric ones
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

func sign(d int) int {
	switch {
	case d < 0:
		return -1
	case d > 0:
		return 1
	}
	return 0
}

// MarshalText writes the canonical form.
func (v Version) MarshalText() ([]byte, error) { return []byte(v.String()), nil }
