package main

import (
	"fmt"
	"time"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/attest"
	"github.com/seatkey/seatkey/machine"
)

func cmdReturn(e *env, args []string) error {
	fs := e.flags("return", "--activation FILE [--tpm PATH] -o PROOF", `
On a machine whose activation is bound to its TPM (request --attest): gives
the seat back. The TPM's attestation key signs a statement that this
activation was given up now, the statement is written to PROOF, and the key
is deleted from the TPM, so the activation no longer verifies here. Carry
PROOF to the vendor: 'seatkey decommission --proof PROOF' frees the seat on
the device's own word and revokes the activation, so the next revocation
list stops it everywhere (SPEC.md section 13).`)
	actFile := fs.String("activation", "", "the activation `FILE`")
	tpm := fs.String("tpm", "", "TPM device or socket `PATH` (default: this machine's)")
	out := fs.StringP("output", "o", "", "write the return proof to `FILE`")
	force := forceFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *actFile == "" || *out == "" || fs.NArg() != 0 {
		return usagef("need --activation FILE and -o PROOF")
	}
	b, err := e.readInput(*actFile)
	if err != nil {
		return err
	}
	c, _, _, err := activation.Inspect(b)
	if err != nil {
		return err
	}
	if c.Credential == nil {
		return fmt.Errorf("activation %s is not bound to a TPM: ask the vendor to decommission device %s", c.ID, c.Device)
	}
	if *out != "-" && !*force {
		if err := refuseExisting(*out); err != nil {
			return err
		}
	}
	conn, err := machine.OpenTPM(*tpm)
	if err != nil {
		return err
	}
	defer conn.Close()
	dev := attest.NewDevice(conn)
	at := e.now().UTC().Truncate(time.Second)
	sig, err := dev.Sign(c.Credential.Handle, activation.ReturnMessage(c.ID, at))
	if err != nil {
		return err
	}
	proof, err := (&activation.ReturnProof{Activation: c.ID, At: at, Signature: sig}).Armor()
	if err != nil {
		return err
	}
	// The proof is written before the key goes: a crash in between leaves a
	// proof and a key, never a key-less device without its proof.
	if err := e.writeOutput(*out, proof, *force); err != nil {
		return err
	}
	if err := dev.Delete(c.Credential.Handle); err != nil {
		return fmt.Errorf("proof written to %s, but the TPM key could not be deleted: %w", esc(*out), err)
	}
	fmt.Fprintf(e.stderr, "returned activation %s of device %s: proof in %s; the TPM key is deleted\n", c.ID, c.Device, esc(*out))
	return nil
}
