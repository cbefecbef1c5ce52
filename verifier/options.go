package verifier

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrOptions is a programming error in the Options a caller passed: a
// tolerance out of range, contradictory settings. It is not a refusal of the
// license, and the message says which option.
var ErrOptions = errors.New("invalid verifier options")

// Defaults and limits for the tolerances in Options.
const (
	DefaultSkew              = 5 * time.Minute
	DefaultRollbackTolerance = 24 * time.Hour
	// MaxTolerance bounds Skew and RollbackTolerance: a tolerance of more
	// than a week would let a customer's clock wander far enough to revive an
	// expired subscription.
	MaxTolerance = 7 * 24 * time.Hour
)

// Options says what to verify a license against. Keys and Product are
// required; everything else is optional.
type Options struct {
	Keys    *Keyring
	Product string
	// AnyProduct skips the product check. It is only for tools that show
	// what a license says (an inspector, the issuer's ledger); an
	// application never sets it. With Product or State it is ErrOptions.
	AnyProduct bool

	Now  time.Time     // zero: time.Now()
	Skew time.Duration // tolerance for clocks at validity edges; zero: DefaultSkew; 0 < Skew <= MaxTolerance

	// Version of the running product ("X.Y.Z") and its release date, for the
	// version-entitlement check. Empty Version skips the check.
	Version     string
	ReleaseDate time.Time
	// LatestMajor, when set, marks the result Legacy if Version's major is two
	// or more majors behind it.
	LatestMajor int

	Features []string // features the caller needs; each must be licensed

	// State is a file in which the verifier remembers the latest time it has
	// seen (a clock more than RollbackTolerance before it is refused), the
	// highest revocation list sequence (an older list is refused) and the
	// keys revoked for compromise (refused for good). See DefaultStatePath.
	State             string
	RollbackTolerance time.Duration // zero: DefaultRollbackTolerance; 0 < RollbackTolerance <= MaxTolerance
	// DryRun reads and checks the state file but never writes it: for
	// "what if" checks at another time (Now) that must not move the
	// machine's latest time seen.
	DryRun bool
	// StateReset is a vendor-signed state reset token (any text form) for
	// this license (and device): it sets the latest time seen back, once, for
	// a machine whose clock once ran far ahead. Needs State.
	StateReset []byte

	// Revocations, when given, refuses revoked licenses, activations and
	// anything signed by a revoked key. A list past its next-update time is a
	// warning in the result, or a refusal with RefuseStale.
	Revocations *RevocationList
	RefuseStale bool
	// RequireRevocationList refuses a verification without a list once the
	// state file has recorded one (always, without a state file).
	RequireRevocationList bool
	// MaxRevocationListAge, when positive, refuses a list issued longer ago
	// than this, and implies RequireRevocationList.
	MaxRevocationListAge time.Duration

	// TPM proves a TPM-bound activation (one with a credential, SPEC.md
	// section 13): the machine's TPM through package attest. Without it
	// such an activation is refused (ErrTPMRequired).
	TPM Prover
}

// check refuses options a caller cannot have meant.
func (o *Options) check() error {
	if o.Keys == nil || o.Keys.Len() == 0 {
		return ErrNoKeys
	}
	if o.Product == "" && !o.AnyProduct {
		return ErrNoProduct
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrOptions, fmt.Sprintf(format, args...))
	}
	switch {
	case o.Product != "" && o.AnyProduct:
		return bad("Product %q and AnyProduct contradict each other", o.Product)
	case o.Skew < 0 || o.Skew > MaxTolerance:
		return bad("Skew %v is outside 0..%v", o.Skew, MaxTolerance)
	case o.RollbackTolerance < 0 || o.RollbackTolerance > MaxTolerance:
		return bad("RollbackTolerance %v is outside 0..%v", o.RollbackTolerance, MaxTolerance)
	case o.MaxRevocationListAge < 0:
		return bad("MaxRevocationListAge %v is negative", o.MaxRevocationListAge)
	case o.AnyProduct && o.State != "":
		return bad("AnyProduct is for tools that show licenses; an application that keeps a State file names its Product")
	case len(o.StateReset) > 0 && o.State == "":
		return bad("a StateReset needs a State file to reset")
	}
	return nil
}

func (o *Options) now() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

func (o *Options) skew() time.Duration {
	if o.Skew == 0 {
		return DefaultSkew
	}
	return o.Skew
}

func (o *Options) rollbackTolerance() time.Duration {
	if o.RollbackTolerance == 0 {
		return DefaultRollbackTolerance
	}
	return o.RollbackTolerance
}

// DefaultStatePath is where an application keeps its state file when it has
// no better place: seatkey.state in a directory named after the vendor and
// the product under the user's configuration directory
// (os.UserConfigDir: $XDG_CONFIG_HOME or ~/.config on Linux and BSD,
// ~/Library/Application Support on macOS, %AppData% on Windows). The
// directory is created (0700) when the state is first written.
//
// vendor and product must be usable as directory names on every system:
// 1 to 64 bytes of printable UTF-8, none of < > : " / \ | ? *, not starting
// or ending with a space or a dot. Otherwise the error is ErrOptions.
func DefaultStatePath(vendor, product string) (string, error) {
	for _, name := range []string{vendor, product} {
		if err := checkDirName(name); err != nil {
			return "", err
		}
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("%w: no configuration directory for the state file: %w", ErrStateIO, err)
	}
	return filepath.Join(dir, vendor, product, stateFileName), nil
}

func checkDirName(s string) error {
	bad := func(why string) error { return fmt.Errorf("%w: state directory name %q %s", ErrOptions, s, why) }
	if s == "" || len(s) > 64 || !utf8.ValidString(s) {
		return bad("must be 1 to 64 bytes of UTF-8")
	}
	if strings.ContainsAny(s, `<>:"/\|?*`) {
		return bad(`must not contain < > : " / \ | ? *`)
	}
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return bad("must be printable")
	}
	if strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
		return bad("must not start or end with a dot or a space")
	}
	return nil
}
