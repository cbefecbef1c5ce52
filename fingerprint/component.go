// Package fingerprint identifies a machine by its hardware, weighted so that
// the same machine is recognised across the changes customers are promised to
// survive (RAM, disks, NICs, host name, domain, re-imaging, firmware updates)
// and a new processor or motherboard makes a new device.
//
// This package is pure: it reads no hardware, so a vendor application that
// only verifies can link it on any OS. Package machine reads a Profile (raw,
// normalised component values) through ghw and the TPM; Profile.Digest turns it into a Fingerprint of keyed per-component
// digests, the only form that ever leaves the machine; Match compares two
// fingerprints under a Policy and explains its decision component by
// component. SPEC.md ("Hardware fingerprint") is the normative description.
package fingerprint

import (
	"fmt"
	"strings"
)

// Component identifies one kind of hardware or software attribute.
type Component uint8

// The components, with their numbers on the wire.
const (
	CPU          Component = 1  // processor vendor and model
	BoardModel   Component = 2  // baseboard vendor and product
	BoardSerial  Component = 3  // baseboard serial (root only)
	SystemUUID   Component = 4  // SMBIOS system UUID (root only)
	SystemSerial Component = 5  // SMBIOS system serial (root only)
	BIOS         Component = 6  // firmware vendor, version and date
	Memory       Component = 7  // total physical memory
	Disks        Component = 8  // set: fixed physical disks by WWN or serial
	NICs         Component = 9  // set: physical NICs by permanent MAC
	TPMEK        Component = 10 // the TPM's endorsement key
	Hostname     Component = 11 // software: never decides identity
	Domain       Component = 12 // software: never decides identity
	MachineID    Component = 13 // software (/etc/machine-id): never decides identity
	Platform     Component = 14 // model: physical, a VM and its platform, or a container (platform.go)
	maxComponent           = 14
)

// Class says what a component's value identifies.
type Class uint8

const (
	// Model values are shared by every machine of the same model.
	Model Class = iota + 1
	// Identity values are unique to one machine (serials, UUIDs, MACs, keys).
	Identity
	// Software values are set by the operating system and never decide identity.
	Software
)

type componentInfo struct {
	name  string
	class Class
	set   bool
}

var components = [maxComponent + 1]componentInfo{
	CPU:          {"cpu", Model, false},
	BoardModel:   {"board-model", Model, false},
	BoardSerial:  {"board-serial", Identity, false},
	SystemUUID:   {"system-uuid", Identity, false},
	SystemSerial: {"system-serial", Identity, false},
	BIOS:         {"bios", Model, false},
	Memory:       {"memory", Model, false},
	Disks:        {"disks", Identity, true},
	NICs:         {"nics", Identity, true},
	TPMEK:        {"tpm-ek", Identity, false},
	Hostname:     {"hostname", Software, false},
	Domain:       {"domain", Software, false},
	MachineID:    {"machine-id", Software, false},
	Platform:     {"platform", Model, false},
}

// Components lists every component in wire order.
func Components() []Component {
	out := make([]Component, 0, maxComponent)
	for c := Component(1); c <= maxComponent; c++ {
		out = append(out, c)
	}
	return out
}

func (c Component) valid() bool { return c >= 1 && c <= maxComponent }

func (c Component) String() string {
	if c.valid() {
		return components[c].name
	}
	return fmt.Sprintf("component(%d)", uint8(c))
}

// Class returns the component's class.
func (c Component) Class() Class {
	if c.valid() {
		return components[c].class
	}
	return 0
}

// IsSet reports whether the component holds a set of values (disks, NICs).
func (c Component) IsSet() bool { return c.valid() && components[c].set }

// ParseComponent parses a component name such as "board-serial".
func ParseComponent(s string) (Component, error) {
	for c := Component(1); c <= maxComponent; c++ {
		if components[c].name == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown component %q", ErrMalformed, s)
}

func (c Component) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

func (c *Component) UnmarshalText(b []byte) error {
	v, err := ParseComponent(string(b))
	*c = v
	return err
}

// placeholders are values firmware writes when nobody set a real one. They
// are absent, not equal: two boards both "To Be Filled By O.E.M." are not one.
var placeholders = map[string]bool{
	"": true, "unknown": true, "none": true, "null": true, "n/a": true, "na": true,
	"not specified": true, "not applicable": true, "not available": true, "not present": true,
	"to be filled by o.e.m.": true, "to be filled by oem": true, "default string": true,
	"system serial number": true, "chassis serial number": true, "base board serial number": true,
	"system product name": true, "system manufacturer": true, "serial": true, "serial number": true,
	"0123456789": true, "123456789": true, "1234567890": true, "(none)": true, "oem": true, "o.e.m.": true,
}

// Normalize returns the canonical form of a raw value for c, or "" when the
// value is absent (empty, a placeholder, or a run of one repeated character).
func Normalize(c Component, v string) string {
	v = strings.Join(strings.Fields(v), " ")
	if placeholders[strings.ToLower(v)] || pseudo(c, v) {
		return ""
	}
	if c.Class() == Identity && c != NICs && c != TPMEK {
		if repeated(strings.NewReplacer("-", "", ":", "", " ", "", ".", "").Replace(v)) {
			return ""
		}
	}
	switch c {
	case SystemUUID:
		v = strings.ToLower(v)
	case BoardSerial, SystemSerial:
		v = strings.ToUpper(v)
	case NICs:
		v = strings.ToLower(v)
		if strings.Trim(v, "0:") == "" || strings.Trim(v, "f:") == "" {
			return ""
		}
	case Hostname:
		v = strings.ToLower(v)
	case Domain:
		v = strings.ToLower(v)
	case MachineID:
		v = strings.ToLower(v)
	case Platform:
		v = strings.ToLower(v)
		if !platforms[v] {
			return ""
		}
	}
	return v
}

// repeated reports whether s is one character repeated (such as "00000000").
func repeated(s string) bool {
	if s == "" {
		return true
	}
	for i := 1; i < len(s); i++ {
		if s[i] != s[0] {
			return false
		}
	}
	return len(s) > 1
}
