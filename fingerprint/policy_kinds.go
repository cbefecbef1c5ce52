package fingerprint

import (
	"crypto/hmac"
	"crypto/sha256"
)

// Rules per kind of machine (SPEC.md §9.4.1). A physical machine is its
// processor and motherboard: a new one is a new device (DefaultPolicy). A
// virtual machine's processor and memory belong to whatever host it runs on
// this week and change with every resize, restart on another host and live
// migration; what the hypervisor keeps for the VM's whole life is its
// system UUID and serials, so those decide (VMPolicy). A container is
// licensed to its host: its fingerprint is the host's, and the host's kind
// picks the rule.

// VMPolicy is the policy for a virtual machine, or a container whose host is
// one. The processor, board model, firmware and memory are shown but weigh
// little and never decide. The system UUID, board and system serials and a
// virtual TPM's endorsement key each decide: present on both sides and
// different is a new device (a clone). Virtual disks' and NICs' identifiers
// are supporting evidence: together they are not enough to recognise a VM
// (MinEvidence needs at least one deciding identity on both sides), because
// a clone or a sibling from the same template copies or recomputes them.
// The deciding identities, once enrolled, must be readable (not Optional).
//
// VMPolicy is no weaker than DefaultPolicy at telling two machines apart:
// two VMs differ in their UUIDs, and a fingerprint that names no UUID, serial
// or TPM cannot be recognised under it at all. A customer who claims a
// physical machine is a VM gains only that a changed processor alone keeps
// the device.
var VMPolicy = Policy{
	Threshold:   60,
	MinEvidence: 10,
	Rules: [maxComponent + 1]Rule{
		CPU:          {1, false},
		BoardModel:   {1, false},
		BoardSerial:  {10, true},
		SystemUUID:   {10, true},
		SystemSerial: {10, true},
		BIOS:         {1, false},
		Memory:       {1, false},
		Disks:        {4, false},
		NICs:         {4, false},
		TPMEK:        {10, true},
	},
	// What honestly comes and goes on a VM may be missing now: model values,
	// and disks and NICs (a disk moved to a bus without serials, a NIC
	// turned into an SR-IOV function with a random MAC). What decides may
	// not: a VM read without the access it had at activation is refused.
	Optional: 1<<CPU | 1<<BoardModel | 1<<BIOS | 1<<Memory | 1<<Disks | 1<<NICs,
}

// PlatformOf returns the platform value (such as "physical", "vm:aws" or
// "container:vm:gce") that fp was collected on, or "" when fp does not say.
// A fingerprint holds only digests; the platform values form a closed set,
// so each is tried under fp's scope.
func PlatformOf(fp *Fingerprint) string {
	if fp == nil || len(fp.Components[Platform]) != 1 {
		return ""
	}
	want := fp.Components[Platform][0]
	mac := hmac.New(sha256.New, scopeKey(fp.Scope))
	var d Digest
	for v := range platforms {
		// As Profile.Digest computes it (SPEC.md §9.3).
		mac.Reset()
		mac.Write([]byte(Platform.String()))
		mac.Write([]byte{0})
		mac.Write([]byte(v))
		copy(d[:], mac.Sum(nil))
		if d == want {
			return v
		}
	}
	return ""
}

// PolicyFor returns the policy for the kind of machine fp was collected on:
// VMPolicy for a virtual machine or a container on one, DefaultPolicy for
// anything else, including a fingerprint that does not say. The issuer calls
// it with the fingerprint of a device's first activation and puts the
// result in the activation, so offline verification applies the same rule.
// The result is a copy the caller may change.
func PolicyFor(fp *Fingerprint) *Policy {
	p := DefaultPolicy
	if IsVM(PlatformOf(fp)) {
		p = VMPolicy
	}
	return &p
}
