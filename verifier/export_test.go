package verifier

// StateForTest decodes a state file as the verifier reads it and returns
// what it holds and the form it would be written back in.
func StateForTest(b []byte) (lastSeen, sequence uint64, signer string, compromised []string, resetAt uint64, rewritten []byte, err error) {
	s, err := parseState(b)
	if err != nil {
		return 0, 0, "", nil, 0, nil, err
	}
	if s.HasSigner {
		signer = s.Signer.String()
	}
	for _, k := range s.Compromised {
		compromised = append(compromised, k.String())
	}
	rewritten, err = s.marshal()
	return s.LastSeen, s.Sequence, signer, compromised, s.ResetAt, rewritten, err
}
