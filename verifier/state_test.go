package verifier_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// These tests are written as the customer who wants to keep using a license
// the vendor revoked: older lists, deleted lists, a stolen key, a deleted
// state file, a clock set back.

// unixPerms: file modes mean something (not on Windows, where the state
// file is private through the user's profile directory).
const unixPerms = runtime.GOOS != "windows"

func list(t testing.TB, k *issuer.Key, keys *verifier.Keyring, seq uint64, issued time.Time, lics, revokedKeys []license.Entry) *verifier.RevocationList {
	t.Helper()
	rl, err := verifier.ParseRevocationList(signList(t, k, seq, issued, issued.Add(7*24*time.Hour), lics, nil, revokedKeys), keys)
	if err != nil {
		t.Fatal(err)
	}
	return rl
}

func revokeLicense(id license.ID) []license.Entry {
	return []license.Entry{{ID: id[:], At: now.Add(-time.Hour), Reason: license.ReasonRefunded}}
}

func compromise(kid license.KeyID) []license.Entry {
	return []license.Entry{{ID: kid[:], At: now.Add(-time.Hour), Reason: license.ReasonKeyCompromise}}
}

func stateOpts(t *testing.T, keys *verifier.Keyring) verifier.Options {
	o := opts(keys)
	o.State = filepath.Join(tempDir(t), "state")
	return o
}

// The list that revokes a license refuses it, and is remembered although it
// refused: an older list that does not revoke the license is refused next.
func TestOlderListAfterNewer(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	for _, revoking := range []bool{true, false} {
		t.Run(fmt.Sprintf("newer list revokes: %v", revoking), func(t *testing.T) {
			o := stateOpts(t, keys)
			var lics []license.Entry
			if revoking {
				lics = revokeLicense(typicalClaims().ID)
			}
			o.Revocations = list(t, k, keys, 5, now.Add(-time.Hour), lics, nil)
			_, err := verifier.Verify(tok, o)
			if revoking != errors.Is(err, verifier.ErrRevoked) || (!revoking && err != nil) {
				t.Fatalf("list 5: %v", err)
			}
			o.Revocations = list(t, k, keys, 4, now.Add(-2*time.Hour), nil, nil)
			if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationRollback) {
				t.Fatalf("list 4 after list 5: %v", err)
			}
			// The same list again, and a newer one, are fine.
			o.Revocations = list(t, k, keys, 6, now.Add(-time.Minute), nil, nil)
			if _, err := verifier.Verify(tok, o); err != nil {
				t.Fatalf("list 6: %v", err)
			}
		})
	}
}

// Sequences belong to the keyring, not to the list's free-text vendor name:
// a list naming another vendor, or signed by another trusted key, does not
// start a second counter.
func TestOneSequencePerKeyring(t *testing.T) {
	k, keys := testKey(t)
	k2, _ := issuer.GenerateKey()
	keys.Add(k2.Public())
	tok, _ := k.Mint(typicalClaims())
	o := stateOpts(t, keys)
	o.Revocations = list(t, k, keys, 9, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	rl, _ := license.NewRevocations("acme", 3, now.Add(-time.Hour), now.Add(time.Hour), nil, nil, nil)
	p, _ := rl.Marshal()
	other, _ := k2.Sign(license.TypeRevocation, p)
	if o.Revocations, _ = verifier.ParseRevocationList(other, keys); o.Revocations == nil {
		t.Fatal("list of the second key refused")
	}
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationRollback) {
		t.Fatalf("list 3 of another key and vendor name after list 9: %v", err)
	}
}

// Once a list has been seen, an application that asks for one refuses to
// run without it; one that does not ask accepts (the SPEC's default).
func TestListDeletedAfterSeen(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := stateOpts(t, keys)
	o.RequireRevocationList = true
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatalf("first run, no list seen yet: %v", err)
	}
	o.Revocations = list(t, k, keys, 2, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	o.Revocations = nil
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationListRequired) {
		t.Fatalf("list deleted after it was seen: %v", err)
	}
	o.RequireRevocationList = false
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatalf("without RequireRevocationList a missing list is accepted: %v", err)
	}
	// Without a state file there is no memory: the requirement is absolute.
	o.RequireRevocationList, o.State = true, ""
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationListRequired) {
		t.Fatalf("no state file, no list: %v", err)
	}
}

func TestMaxRevocationListAge(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := opts(keys)
	o.MaxRevocationListAge = 7 * 24 * time.Hour
	o.Revocations = list(t, k, keys, 2, now.Add(-8*24*time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationListTooOld) {
		t.Fatalf("8-day-old list: %v", err)
	}
	o.Revocations = list(t, k, keys, 3, now.Add(-6*24*time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatalf("6-day-old list: %v", err)
	}
	o.Revocations = nil
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationListRequired) {
		t.Fatalf("no list, no state, a maximum age: %v", err)
	}
}

// The thief holds key A. The vendor publishes, signed with key B, a list that
// revokes A for compromise. The thief then offers a list signed with A (with
// a higher sequence, revoking nothing): refused, and so is everything A
// signs, even when no list is given at all.
func TestListSignedByStolenKey(t *testing.T) {
	stolen, keys := testKey(t)
	vendor, _ := issuer.GenerateKey()
	keys.Add(vendor.Public())
	tok, _ := stolen.Mint(typicalClaims())
	o := stateOpts(t, keys)
	o.Revocations = list(t, vendor, keys, 5, now.Add(-time.Hour), nil, compromise(stolen.ID()))
	var re *verifier.RevokedError
	if _, err := verifier.Verify(tok, o); !errors.As(err, &re) || re.What != "signing key" {
		t.Fatalf("license of the stolen key with the vendor's list: %v", err)
	}
	thief := list(t, stolen, keys, 99, now.Add(-time.Minute), nil, nil) // verifies on its own
	o.Revocations = thief
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevoked) || !strings.Contains(err.Error(), "revocation list") {
		t.Fatalf("the thief's list after the vendor's: %v", err)
	}
	o.Revocations = nil
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevoked) {
		t.Fatalf("the stolen key's license with no list: %v", err)
	}
	// A new license the thief mints, and an activation the thief signs for the vendor's license.
	c := typicalClaims()
	c.ID[0] = 0x55
	c.IssuedAt = now.Add(-time.Minute)
	c.NotBefore = c.IssuedAt
	minted, _ := stolen.Mint(c)
	if _, err := verifier.Verify(minted, o); !errors.Is(err, verifier.ErrRevoked) {
		t.Fatalf("a license the thief minted afterwards: %v", err)
	}
	good, _ := vendor.Mint(typicalClaims())
	m := machineProfile(1)
	act := activate(t, stolen, typicalClaims().ID, [16]byte{1}, m, 0)
	if _, err := verifier.VerifyActivation(good, act, m.Digest("ledgerpro"), o); !errors.Is(err, verifier.ErrRevoked) || !strings.Contains(err.Error(), "activation") {
		t.Fatalf("an activation the thief signed: %v", err)
	}
	if _, err := verifier.VerifyActivation(good, activate(t, vendor, typicalClaims().ID, [16]byte{1}, m, 0), m.Digest("ledgerpro"), o); err != nil {
		t.Fatalf("the vendor's own activation: %v", err)
	}
}

// The thief is first: a list signed with the stolen key and a huge sequence
// reaches the machine before the vendor's list. The vendor's list, which
// revokes that key, must still be accepted: a sequence recorded from a key
// now known to be stolen proves nothing.
func TestStolenKeyListSeenFirst(t *testing.T) {
	stolen, keys := testKey(t)
	vendor, _ := issuer.GenerateKey()
	keys.Add(vendor.Public())
	tok, _ := vendor.Mint(typicalClaims())
	o := stateOpts(t, keys)
	o.Revocations = list(t, stolen, keys, 1<<40, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	o.Revocations = list(t, vendor, keys, 5, now.Add(-time.Minute), revokeLicense(typicalClaims().ID), compromise(stolen.ID()))
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevoked) || strings.Contains(err.Error(), "signing key") {
		t.Fatalf("the vendor's list after the thief's: want the license revoked, got %v", err)
	}
	o.Revocations = list(t, vendor, keys, 4, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationRollback) {
		t.Fatalf("the vendor's older list after its newer one: %v", err)
	}
}

// What a deleted state file does and does not catch (SPEC.md section 7).
func TestStateFileDeleted(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := stateOpts(t, keys)
	o.Revocations = list(t, k, keys, 5, now.Add(-time.Hour), revokeLicense(typicalClaims().ID), nil)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevoked) {
		t.Fatal(err)
	}
	if err := os.Remove(o.State); err != nil {
		t.Fatal(err)
	}
	// Not caught: without its memory the machine accepts the older list once.
	o.Revocations = list(t, k, keys, 4, now.Add(-2*time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatalf("documented limit changed? %v", err)
	}
	// Caught: the file is recreated (0600) and remembers from then on.
	if st, err := os.Stat(o.State); err != nil || (unixPerms && st.Mode().Perm() != 0o600) {
		t.Fatalf("state file not recreated: %v", err)
	}
	o.Revocations = list(t, k, keys, 3, now.Add(-3*time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationRollback) {
		t.Fatalf("rollback after the file came back: %v", err)
	}
	// Caught: an application that requires a list, with a list that is
	// required to be recent, refuses the old list even with no state at all.
	os.Remove(o.State)
	o.MaxRevocationListAge = time.Hour
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationListTooOld) {
		t.Fatalf("old list with a maximum age: %v", err)
	}
}

func TestClockSetBackWithList(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := stateOpts(t, keys)
	o.Revocations = list(t, k, keys, 5, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	o.Now = now.Add(-48 * time.Hour)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrClockRollback) {
		t.Fatalf("clock set back two days: %v", err)
	}
	// The clock was wrong, but a newer list seen meanwhile is still recorded.
	o.Revocations = list(t, k, keys, 6, now.Add(-72*time.Hour), nil, nil)
	verifier.Verify(tok, o)
	o.Now = now
	o.Revocations = list(t, k, keys, 5, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationRollback) {
		t.Fatalf("list 6 seen with a wrong clock was not recorded: %v", err)
	}
}

func TestStateMigratesFirstVersion(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := stateOpts(t, keys)
	old, _ := cborx.Marshal(map[int]any{1: now.Add(-time.Hour).Unix(), 2: map[string]uint64{"Acme Software": 7, "acme": 9}})
	os.WriteFile(o.State, old, 0o600)
	o.Revocations = list(t, k, keys, 8, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevocationRollback) {
		t.Fatalf("list 8 after a first-version file holding 9: %v", err)
	}
	b, _ := os.ReadFile(o.State)
	want, _ := cborx.Marshal(map[int]any{1: now.Unix(), 2: 9})
	if !bytes.Equal(b, want) {
		t.Fatalf("not rewritten in the current form: %x", b)
	}
	o.Revocations = list(t, k, keys, 10, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
}

func TestStateErrors(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	dir := tempDir(t)
	var pe *fs.PathError
	for _, tc := range []struct {
		name  string
		state string
		data  []byte
		want  error
	}{
		{"state path is a directory", dir, nil, verifier.ErrStateIO},
		{"parent is a file", filepath.Join(dir, "file", "state"), nil, verifier.ErrStateIO},
		{"non-canonical", filepath.Join(dir, "a"), []byte{0xa1, 0x01, 0x18, 0x05}, verifier.ErrState},
		{"garbage", filepath.Join(dir, "b"), []byte("hello"), verifier.ErrState},
		{"sequence zero", filepath.Join(dir, "c"), []byte{0xa2, 0x01, 0x05, 0x02, 0x00}, verifier.ErrState},
		{"signer without sequence", filepath.Join(dir, "d"), mustCBOR(map[int]any{1: 5, 3: bytes.Repeat([]byte{1}, 8)}), verifier.ErrState},
		{"short signer", filepath.Join(dir, "g"), mustCBOR(map[int]any{1: 5, 2: 1, 3: []byte{1}}), verifier.ErrState},
		{"first version, empty map", filepath.Join(dir, "h"), mustCBOR(map[int]any{1: 5, 2: map[string]int{}}), verifier.ErrState},
		{"unknown key", filepath.Join(dir, "e"), []byte{0xa2, 0x01, 0x05, 0x09, 0x01}, verifier.ErrState},
		{"unsorted compromised keys", filepath.Join(dir, "f"), mustCBOR(map[int]any{1: 5, 4: [][]byte{bytes.Repeat([]byte{2}, 8), bytes.Repeat([]byte{1}, 8)}}), verifier.ErrState},
	} {
		os.WriteFile(filepath.Join(dir, "file"), nil, 0o600)
		if tc.data != nil {
			os.WriteFile(tc.state, tc.data, 0o600)
		}
		o := opts(keys)
		o.State = tc.state
		_, err := verifier.Verify(tok, o)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		if io := errors.Is(err, verifier.ErrStateIO); io != errors.As(err, &pe) || io == errors.Is(err, verifier.ErrState) {
			t.Errorf("%s: I/O and damage must be told apart, and I/O must carry the path error: %v", tc.name, err)
		}
		if tc.data != nil {
			if b, _ := os.ReadFile(tc.state); !bytes.Equal(b, tc.data) {
				t.Errorf("%s: a damaged state file was overwritten", tc.name)
			}
		}
	}
}

func mustCBOR(v any) []byte {
	b, err := cborx.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// A "what if" check at another time never moves the machine's memory.
func TestDryRunNeverWrites(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := stateOpts(t, keys)
	o.DryRun = true
	o.Revocations = list(t, k, keys, 5, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(o.State); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("dry run created the state file: %v", err)
	}
	o.DryRun = false
	o.Revocations = nil
	verifier.Verify(tok, o)
	before, _ := os.ReadFile(o.State)
	o.DryRun, o.Now = true, now.Add(200*24*time.Hour)
	o.Revocations = list(t, k, keys, 5, now.Add(-time.Hour), nil, nil)
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(o.State); !bytes.Equal(before, after) {
		t.Fatal("dry run in the future wrote the state file")
	}
	o.DryRun, o.Now, o.Revocations = false, now, nil
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatalf("after a dry run next year, today is refused: %v", err)
	}
	// A dry run still refuses what a real run would.
	o.DryRun, o.Now = true, now.Add(-48*time.Hour)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrClockRollback) {
		t.Fatalf("dry run with the clock set back: %v", err)
	}
}

func machineProfile(n int) *fingerprint.Profile {
	p := &fingerprint.Profile{}
	p.Set(fingerprint.CPU, "GenuineIntel|Xeon Gold 6338")
	p.Set(fingerprint.BoardModel, "Dell Inc.|0PJ7YJ")
	p.Set(fingerprint.BoardSerial, fmt.Sprintf("BRD%07d", n))
	p.Set(fingerprint.SystemUUID, fmt.Sprintf("4c4c4544-0000-0000-0000-%012d", n))
	p.Set(fingerprint.Disks, fmt.Sprintf("wwn:0x5002%012x", n))
	p.Set(fingerprint.NICs, fmt.Sprintf("b0:7b:25:00:00:%02x", n))
	return p
}

func activate(t testing.TB, k *issuer.Key, lic license.ID, dev activation.DeviceID, p *fingerprint.Profile, maxDays uint) []byte {
	t.Helper()
	c := activation.Claims{ID: activation.ID{0xac, dev[0]}, License: lic, Device: dev, IssuedAt: now.Add(-24 * time.Hour), Fingerprint: p.Digest("ledgerpro"), MaxListAgeDays: maxDays}
	payload, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Sign(license.TypeActivation, payload)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func stateReset(t testing.TB, k *issuer.Key, r verifier.StateReset) []byte {
	t.Helper()
	p, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := k.Sign(verifier.TypeStateReset, p)
	if err != nil {
		t.Fatal(err)
	}
	return verifier.ArmorStateReset(tok)
}

// A machine whose clock once ran a year ahead refuses the right time as a
// clock set back; a reset the vendor signs for that device brings it back,
// once. A reset for another device or license is refused.
func TestStateReset(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	lic := typicalClaims().ID
	m := machineProfile(1)
	dev := activation.DeviceID{7}
	act := activate(t, k, lic, dev, m, 0)
	o := stateOpts(t, keys)
	o.Now = now.Add(180 * 24 * time.Hour)
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o); err != nil {
		t.Fatal(err)
	}
	o.Now = now
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o); !errors.Is(err, verifier.ErrClockRollback) {
		t.Fatalf("right time after a clock that ran ahead: %v", err)
	}
	reset := func(d activation.DeviceID, l license.ID, iat time.Time) []byte {
		return stateReset(t, k, verifier.StateReset{License: l, Device: d, LastSeen: iat, IssuedAt: iat})
	}
	otherLic := lic
	otherLic[0] ^= 1
	rogue, _ := issuer.GenerateKey()
	forged, _ := rogue.Sign(verifier.TypeStateReset, func() []byte {
		p, _ := verifier.StateReset{License: lic, Device: dev, LastSeen: now, IssuedAt: now}.Marshal()
		return p
	}())
	for _, tc := range []struct {
		name  string
		token []byte
		also  error
	}{
		{"another device", reset(activation.DeviceID{8}, lic, now), nil},
		{"another license", reset(dev, otherLic, now), nil},
		{"unknown signer", forged, verifier.ErrUnknownKey},
		{"a license instead", license.Armor(license.TypeLicense, tok), license.ErrWrongType},
	} {
		o.StateReset = tc.token
		_, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o)
		if !errors.Is(err, verifier.ErrStateReset) || (tc.also != nil && !errors.Is(err, tc.also)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// Bound to a device, it needs the activation that names the device.
	o.StateReset = reset(dev, lic, now)
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrStateReset) {
		t.Fatalf("device-bound reset without an activation: %v", err)
	}
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o); err != nil {
		t.Fatalf("reset for this device: %v", err)
	}
	// Applied once: replaying it after the clock ran ahead again changes nothing.
	o.StateReset, o.Now = nil, now.Add(100*24*time.Hour)
	verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o)
	o.StateReset, o.Now = reset(dev, lic, now), now.Add(time.Hour)
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o); !errors.Is(err, verifier.ErrClockRollback) {
		t.Fatalf("replayed reset: %v", err)
	}
	// A later reset does apply.
	o.StateReset = reset(dev, lic, now.Add(time.Hour))
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o); err != nil {
		t.Fatalf("second reset: %v", err)
	}
	// A reset cannot move the latest time seen past its own issue time.
	if _, err := (verifier.StateReset{License: lic, LastSeen: now.Add(time.Hour), IssuedAt: now}).Marshal(); !errors.Is(err, license.ErrInvalidClaims) {
		t.Fatalf("reset into the future: %v", err)
	}
}

func TestActivationRequiresRecentList(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	m := machineProfile(2)
	act := activate(t, k, typicalClaims().ID, activation.DeviceID{2}, m, 7)
	o := opts(keys)
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o); !errors.Is(err, verifier.ErrRevocationListRequired) {
		t.Fatalf("no list: %v", err)
	}
	o.Revocations = list(t, k, keys, 1, now.Add(-8*24*time.Hour), nil, nil)
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o); !errors.Is(err, verifier.ErrRevocationListTooOld) {
		t.Fatalf("8-day-old list: %v", err)
	}
	o.Revocations = list(t, k, keys, 2, now.Add(-6*24*time.Hour), nil, nil)
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("ledgerpro"), o); err != nil {
		t.Fatalf("6-day-old list: %v", err)
	}
	// The field round-trips, and zero is never written out.
	p, _ := (&activation.Claims{ID: activation.ID{1}, IssuedAt: now, Fingerprint: m.Digest("ledgerpro"), MaxListAgeDays: 7}).Marshal()
	if c, err := activation.ParseClaims(p); err != nil || c.MaxListAgeDays != 7 {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := (&activation.Claims{ID: activation.ID{1}, IssuedAt: now, Fingerprint: m.Digest("ledgerpro"), MaxListAgeDays: activation.MaxListAgeDays + 1}).Marshal(); !errors.Is(err, license.ErrInvalidClaims) {
		t.Fatalf("absurd age: %v", err)
	}
}

func TestOptionsRefused(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	for _, tc := range []struct {
		name string
		edit func(*verifier.Options)
	}{
		{"skew of a year", func(o *verifier.Options) { o.Skew = 365 * 24 * time.Hour }},
		{"negative skew", func(o *verifier.Options) { o.Skew = -time.Second }},
		{"rollback tolerance of a month", func(o *verifier.Options) { o.RollbackTolerance = 30 * 24 * time.Hour }},
		{"negative rollback tolerance", func(o *verifier.Options) { o.RollbackTolerance = -time.Hour }},
		{"negative list age", func(o *verifier.Options) { o.MaxRevocationListAge = -time.Hour }},
		{"product and any product", func(o *verifier.Options) { o.AnyProduct = true }},
		{"any product with a state file", func(o *verifier.Options) {
			o.Product, o.AnyProduct, o.State = "", true, filepath.Join(tempDir(t), "state")
		}},
		{"reset without state", func(o *verifier.Options) { o.StateReset = []byte("x") }},
	} {
		o := opts(keys)
		tc.edit(&o)
		if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrOptions) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	o := opts(keys)
	o.Skew, o.RollbackTolerance = verifier.MaxTolerance, verifier.MaxTolerance
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatalf("a week is allowed: %v", err)
	}
}

func TestActivationProgrammingErrors(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	m := machineProfile(3)
	act := activate(t, k, typicalClaims().ID, activation.DeviceID{3}, m, 0)
	if _, err := verifier.VerifyActivation(tok, act, m.Digest("otherproduct"), opts(keys)); !errors.Is(err, verifier.ErrScope) || errors.Is(err, verifier.ErrDevice) {
		t.Fatalf("wrong scope: %v", err)
	}
	if _, err := verifier.VerifyActivation(tok, act, nil, opts(keys)); !errors.Is(err, verifier.ErrOptions) {
		t.Fatalf("no fingerprint: %v", err)
	}
	_, err := verifier.VerifyActivation(tok, act, machineProfile(4).Digest("ledgerpro"), opts(keys))
	var de *verifier.DeviceError
	if !errors.As(err, &de) || !errors.Is(err, verifier.ErrDevice) {
		t.Fatalf("another machine: %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, "board-serial") {
		t.Fatalf("DeviceError must be one line naming the cause: %q", msg)
	}
	if tab := de.Table(); strings.Count(tab, "\n") < 4 || !strings.Contains(tab, "system-uuid") {
		t.Fatalf("table: %q", tab)
	}
}

func TestDefaultStatePath(t *testing.T) {
	dir := tempDir(t)
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("HOME", dir) // macOS
	t.Setenv("AppData", dir)
	p, err := verifier.DefaultStatePath("Acme Software", "ledgerpro")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.UserConfigDir()
	if want := filepath.Join(cfg, "Acme Software", "ledgerpro", "seatkey.state"); p != want {
		t.Fatalf("got %s, want %s", p, want)
	}
	// The directory is created on first use.
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := opts(keys)
	o.State = p
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Dir(p)); err != nil || (unixPerms && st.Mode().Perm() != 0o700) {
		t.Fatalf("state directory: %v", err)
	}
	for _, bad := range [][2]string{{"", "p"}, {"Acme", "../etc"}, {"a/b", "p"}, {"Acme", ".."}, {"Acme", "x:y"}, {"Acme\x1b[31m", "p"}, {"Acme.", "p"}, {strings.Repeat("a", 65), "p"}} {
		if _, err := verifier.DefaultStatePath(bad[0], bad[1]); !errors.Is(err, verifier.ErrOptions) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// Step 16 before 17: a key the state file remembers as compromised is
// revoked, even when a later list only says it was retired.
func TestCompromiseOutranksRetirement(t *testing.T) {
	stolen, keys := testKey(t)
	vendor, _ := issuer.GenerateKey()
	keys.Add(vendor.Public())
	tok, _ := stolen.Mint(typicalClaims()) // issued 2026-01-15
	o := stateOpts(t, keys)
	o.Revocations = list(t, vendor, keys, 1, now.Add(-time.Hour), nil, compromise(stolen.ID()))
	verifier.Verify(tok, o)
	kid := stolen.ID()
	o.Revocations = list(t, vendor, keys, 2, now.Add(-time.Minute), nil, []license.Entry{{ID: kid[:], At: date("2026-01-01T00:00:00Z"), Reason: license.ReasonRetired}})
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevoked) || errors.Is(err, verifier.ErrKeyRetired) {
		t.Fatalf("compromised, then listed as retired: %v", err)
	}
}

// The latest time seen moves in steps of a minute (SPEC.md 7.1 S5): an
// application that verifies every second does not write the disk every second.
func TestLatestTimeStep(t *testing.T) {
	k, keys := testKey(t)
	tok, _ := k.Mint(typicalClaims())
	o := stateOpts(t, keys)
	verifier.Verify(tok, o)
	first, _ := os.ReadFile(o.State)
	o.Now = now.Add(59 * time.Second)
	verifier.Verify(tok, o)
	if b, _ := os.ReadFile(o.State); !bytes.Equal(b, first) {
		t.Fatal("written again within the minute")
	}
	o.Now = now.Add(time.Minute)
	verifier.Verify(tok, o)
	if b, _ := os.ReadFile(o.State); bytes.Equal(b, first) {
		t.Fatal("not written a minute later")
	}
}

// The limit SPEC.md 11.3 states: both keys are trusted, so a thief whose list
// reaches the machine first can revoke the vendor's other key, and the
// machine then refuses the vendor's lists until an update drops the stolen key.
func TestThiefRevokesVendorKeyFirst(t *testing.T) {
	stolen, keys := testKey(t)
	vendor, _ := issuer.GenerateKey()
	keys.Add(vendor.Public())
	tok, _ := stolen.Mint(typicalClaims())
	o := stateOpts(t, keys)
	o.Revocations = list(t, stolen, keys, 3, now.Add(-time.Hour), nil, compromise(vendor.ID()))
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatal(err)
	}
	o.Revocations = list(t, vendor, keys, 4, now.Add(-time.Minute), nil, compromise(stolen.ID()))
	if _, err := verifier.Verify(tok, o); !errors.Is(err, verifier.ErrRevoked) || !strings.Contains(err.Error(), "revocation list") {
		t.Fatalf("the vendor's list after the thief revoked its key: %v", err)
	}
	// The remedy: an update whose keyring has a new key and not the stolen one.
	fresh, _ := issuer.GenerateKey()
	updated := verifier.NewKeyring(vendor.Public(), fresh.Public())
	o.Keys = updated
	o.Revocations = list(t, fresh, updated, 5, now.Add(-time.Minute), nil, nil)
	reissued, _ := fresh.Mint(typicalClaims())
	if _, err := verifier.Verify(reissued, o); err != nil {
		t.Fatalf("after the update with a new key: %v", err)
	}
}

// A clock before 1970 on a fresh machine must not write a state file that
// cannot be read back.
func TestClockBefore1970(t *testing.T) {
	k, keys := testKey(t)
	c := typicalClaims()
	c.Kind, c.Expires, c.Major = license.PerDeployment, time.Time{}, 0
	tok, _ := k.Mint(c)
	o := stateOpts(t, keys)
	o.Now = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	verifier.Verify(tok, o) // not yet valid
	o.Now = now
	if _, err := verifier.Verify(tok, o); err != nil {
		t.Fatalf("after a run at 1960: %v", err)
	}
}
