package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

// Media types of the device endpoints.
const (
	// TypeActivationRequest is an activation request in binary (CBOR) form;
	// the armored form is also accepted as text/plain.
	TypeActivationRequest = "application/seatkey-activation-request"
	TypeJSON              = "application/json"
	TypeText              = "text/plain"
	// TypeReturnProof is a TPM-bound device's return proof (SPEC.md
	// section 13), binary or armored.
	TypeReturnProof = "application/seatkey-return-proof"
)

// DeviceProof is the body of a check-in or a return: the device's
// activation token and a fresh fingerprint of the machine it runs on
// (section 9.3, scope = the license's product), both in binary form
// (base64 in JSON).
type DeviceProof struct {
	Activation  []byte `json:"activation"`
	Fingerprint []byte `json:"fingerprint"`
}

// wants reports whether the Accept header names media type t exactly.
func wants(r *http.Request, t string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == t {
			return true
		}
	}
	return false
}

// writeToken answers with a token: armored text (the bytes the offline CLI
// writes to a file), or binary when the client accepts typ.
func writeToken(w http.ResponseWriter, r *http.Request, status int, typ string, tok []byte) {
	body, ct := license.Armor(typ, tok), "text/plain; charset=utf-8"
	if wants(r, typ) {
		body, ct = tok, typ
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decodeJSON strictly decodes one JSON object: no unknown fields, nothing after it.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apiError(http.StatusBadRequest, "malformed", "JSON body: "+err.Error())
	}
	if _, err := dec.Token(); err != io.EOF {
		return apiError(http.StatusBadRequest, "malformed", "JSON body: data after the object")
	}
	return nil
}

// activate is POST /v1/activations.
func (s *Server) activate(w http.ResponseWriter, r *http.Request) {
	b, _, err := readBody(w, r, TypeActivationRequest, TypeText)
	if err != nil {
		s.metrics.activations.WithLabelValues("refused").Inc()
		s.writeError(w, r, err)
		return
	}
	if _, err := activation.ParseRequest(b); err != nil {
		s.metrics.activations.WithLabelValues("refused").Inc()
		s.writeError(w, r, apiError(http.StatusBadRequest, "malformed", err.Error()))
		return
	}
	res, err := s.activations.do(s, r.Context(), b)
	if err != nil {
		s.metrics.activations.WithLabelValues("refused").Inc()
		s.writeError(w, r, err)
		return
	}
	s.metrics.activations.WithLabelValues(string(res.Outcome)).Inc()
	h := w.Header()
	h.Set("Seatkey-Outcome", string(res.Outcome))
	h.Set("Seatkey-Device", res.Device.String())
	h.Set("Seatkey-Activation", res.Activation.String())
	if res.Overage {
		h.Set("Seatkey-Overage", "true")
	}
	if res.Failover {
		h.Set("Seatkey-Failover", "true")
	}
	status := http.StatusOK
	if res.Outcome == issuer.NewDevice || res.Outcome == issuer.Recommissioned {
		status = http.StatusCreated
	}
	writeToken(w, r, status, license.TypeActivation, res.Token)
}

// readProof reads and checks the form of a check-in or return body.
func readProof(w http.ResponseWriter, r *http.Request) ([]byte, *fingerprint.Fingerprint, error) {
	b, _, err := readBody(w, r, TypeJSON)
	if err != nil {
		return nil, nil, err
	}
	var p DeviceProof
	if err := decodeJSON(b, &p); err != nil {
		return nil, nil, err
	}
	if len(p.Activation) == 0 || len(p.Fingerprint) == 0 {
		return nil, nil, apiError(http.StatusBadRequest, "malformed", `"activation" and "fingerprint" are both required`)
	}
	fp, err := fingerprint.ParseFingerprint(p.Fingerprint)
	if err != nil {
		return nil, nil, apiError(http.StatusBadRequest, "malformed", "fingerprint: "+err.Error())
	}
	return p.Activation, fp, nil
}

// checkIn is POST /v1/checkins.
func (s *Server) checkIn(w http.ResponseWriter, r *http.Request) {
	tok, fp, err := readProof(w, r)
	var res *issuer.CheckInResult
	if err == nil {
		res, err = s.checkins.do(s, r.Context(), issuer.CheckInRequest{Activation: tok, Fingerprint: fp})
	}
	switch {
	case err != nil:
		s.metrics.checkins.WithLabelValues("refused").Inc()
		s.writeError(w, r, err)
		return
	case res.SuspectedDuplicate:
		s.metrics.checkins.WithLabelValues("suspected-duplicate").Inc()
	default:
		s.metrics.checkins.WithLabelValues("ok").Inc()
	}
	writeJSON(w, http.StatusOK, res)
}

// returnSeat is POST /v1/returns.
func (s *Server) returnSeat(w http.ResponseWriter, r *http.Request) {
	var dev activation.DeviceID
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == TypeReturnProof {
		// A TPM-bound device's signed return proof: its own word, checked
		// with its TPM key (SPEC.md 13).
		var b []byte
		if b, _, err = readBody(w, r, TypeReturnProof); err == nil {
			err = s.write(r.Context(), func() (err error) {
				dev, err = s.ledger.DecommissionWithProof(b)
				return err
			})
		}
	} else {
		var tok []byte
		var fp *fingerprint.Fingerprint
		tok, fp, err = readProof(w, r)
		if err == nil {
			err = s.write(r.Context(), func() (err error) {
				dev, err = s.ledger.Return(s.cfg.Key, tok, fp)
				return err
			})
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"device": dev.String(), "status": "decommissioned"})
}

// latestRevocations is GET /v1/revocations/latest.
func (s *Server) latestRevocations(w http.ResponseWriter, r *http.Request) {
	tok, seq, err := s.ledger.LatestRevocationList()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	etag := fmt.Sprintf(`"seq-%d"`, seq)
	w.Header().Set("ETag", etag)
	w.Header().Set("Seatkey-Sequence", strconv.FormatUint(seq, 10))
	w.Header().Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == etag {
		w.Header().Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeToken(w, r, http.StatusOK, license.TypeRevocation, tok)
}
