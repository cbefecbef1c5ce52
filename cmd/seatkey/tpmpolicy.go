package main

import (
	"crypto/x509"
	"fmt"

	"github.com/spf13/pflag"

	"github.com/seatkey/seatkey/issuer"
)

// tpmPolicyFlags declares --ek-roots and --require-ek-cert for a command
// that activates (activate, serve): what a TPM-attested request must show.
func tpmPolicyFlags(fs *pflag.FlagSet) (roots *string, require *bool) {
	roots = fs.String("ek-roots", "", "PEM `FILE` of TPM manufacturers' CA certificates an attested TPM's EK certificate must chain to")
	require = fs.Bool("require-ek-cert", false, "refuse attested requests without an EK certificate from --ek-roots (a TPM emulator with a made-up EK then fails)")
	return roots, require
}

// tpmPolicy reads the CA certificates of --ek-roots.
func (e *env) tpmPolicy(roots string, require bool) (issuer.TPMPolicy, error) {
	p := issuer.TPMPolicy{RequireEKCert: require}
	if roots == "" {
		if require {
			return p, usagef("--require-ek-cert needs --ek-roots FILE")
		}
		return p, nil
	}
	b, err := e.readInput(roots)
	if err != nil {
		return p, err
	}
	p.EKRoots = x509.NewCertPool()
	if !p.EKRoots.AppendCertsFromPEM(b) {
		return p, fmt.Errorf("--ek-roots %s: no PEM certificate in it", esc(roots))
	}
	return p, nil
}
