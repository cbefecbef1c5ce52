package server

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/seatkey/seatkey/activation"
	"github.com/seatkey/seatkey/fingerprint"
	"github.com/seatkey/seatkey/internal/armor"
	"github.com/seatkey/seatkey/internal/cborx"
	"github.com/seatkey/seatkey/internal/cose"
	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
	"github.com/seatkey/seatkey/verifier"
)

// Error is the JSON error body: {"error": {"code": "...", "message": "..."}}.
// Code is stable (API.md lists every one); Message is for people.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func apiError(status int, code, msg string) *Error {
	return &Error{Status: status, Code: code, Message: msg}
}

// refusals maps ledger and verifier refusals to stable codes, most specific
// first: the first sentinel the error matches with errors.Is decides.
var refusals = []struct {
	err    error
	status int
	code   string
}{
	{issuer.ErrIdentityConflict, http.StatusConflict, "identity_conflict"},
	{issuer.ErrBadProof, http.StatusForbidden, "bad_proof"},
	{issuer.ErrMigrationOver, http.StatusConflict, "migration_over"},
	{issuer.ErrSuperseded, http.StatusConflict, "superseded"},
	{issuer.ErrLicenseRevoked, http.StatusForbidden, "license_revoked"},
	{issuer.ErrDeviceRevoked, http.StatusForbidden, "device_revoked"},
	{issuer.ErrKeyRevoked, http.StatusForbidden, "key_revoked"},
	{issuer.ErrSeatsExhausted, http.StatusConflict, "seats_exhausted"},
	{issuer.ErrFailoverExhausted, http.StatusConflict, "failover_exhausted"},
	{issuer.ErrSuspended, http.StatusForbidden, "customer_suspended"},
	{issuer.ErrPerDeployment, http.StatusConflict, "per_deployment"},
	{issuer.ErrNoSupport, http.StatusConflict, "no_support"},
	{issuer.ErrNotActive, http.StatusConflict, "not_active"},
	{issuer.ErrUnknownDevice, http.StatusNotFound, "unknown_device"},
	{issuer.ErrUnknownLicense, http.StatusNotFound, "unknown_license"},
	{issuer.ErrUnknownCustomer, http.StatusNotFound, "unknown_customer"},
	{issuer.ErrUnknownActivation, http.StatusNotFound, "unknown_activation"},
	{issuer.ErrNoRevocationList, http.StatusNotFound, "no_revocation_list"},
	{verifier.ErrRevoked, http.StatusForbidden, "revoked"},
	{verifier.ErrKeyRetired, http.StatusForbidden, "key_retired"},
	{verifier.ErrDevice, http.StatusForbidden, "device_mismatch"},
	{verifier.ErrActivationExpired, http.StatusForbidden, "activation_expired"},
	{verifier.ErrActivationMismatch, http.StatusForbidden, "activation_mismatch"},
	{verifier.ErrExpired, http.StatusForbidden, "license_expired"},
	{verifier.ErrNotYetValid, http.StatusForbidden, "license_not_yet_valid"},
	{verifier.ErrWrongProduct, http.StatusForbidden, "wrong_product"},
	{verifier.ErrUnknownKey, http.StatusForbidden, "unknown_key"},
	{verifier.ErrSignature, http.StatusForbidden, "bad_signature"},
	{fingerprint.ErrScope, http.StatusBadRequest, "wrong_scope"},
	{cose.ErrTooLarge, http.StatusRequestEntityTooLarge, "body_too_large"},
	{license.ErrWrongType, http.StatusBadRequest, "malformed"},
	{license.ErrUnknownClaim, http.StatusBadRequest, "malformed"},
	{license.ErrInvalidClaims, http.StatusBadRequest, "malformed"},
	{cborx.ErrMalformed, http.StatusBadRequest, "malformed"},
	{cborx.ErrNonCanonical, http.StatusBadRequest, "malformed"},
	{cborx.ErrIndefinite, http.StatusBadRequest, "malformed"},
	{cborx.ErrDuplicateKey, http.StatusBadRequest, "malformed"},
	{cborx.ErrTrailing, http.StatusBadRequest, "malformed"},
	{cborx.ErrTooDeep, http.StatusBadRequest, "malformed"},
	{cborx.ErrUnsupported, http.StatusBadRequest, "malformed"},
	{cborx.ErrUnknownField, http.StatusBadRequest, "malformed"},
	{cose.ErrAlgorithm, http.StatusBadRequest, "malformed"},
	{armor.ErrArmor, http.StatusBadRequest, "malformed"},
	{armor.ErrWrongType, http.StatusBadRequest, "malformed"},
	{armor.ErrTooLarge, http.StatusBadRequest, "malformed"},
	{activation.ErrBadRequest, http.StatusBadRequest, "malformed"},
	{license.ErrBadID, http.StatusBadRequest, "bad_id"},
	{issuer.ErrBadID, http.StatusBadRequest, "bad_id"},
	{issuer.ErrRequestRefused, http.StatusUnprocessableEntity, "request_refused"},
	{issuer.ErrBadActivation, http.StatusForbidden, "activation_refused"},
}

// classify turns any error into the API error the client sees. Anything it
// does not recognise is a 500 "internal" whose details stay in the log.
func classify(err error) (*Error, bool) {
	var ae *Error
	if errors.As(err, &ae) {
		return ae, true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apiError(http.StatusRequestEntityTooLarge, "body_too_large", "request body larger than the limit"), true
	}
	for _, r := range refusals {
		if errors.Is(err, r.err) {
			return apiError(r.status, r.code, err.Error()), true
		}
	}
	if issuer.IsUnavailable(err) {
		return apiError(http.StatusServiceUnavailable, "unavailable", "the ledger's database cannot be reached; retrying is safe"), false
	}
	return apiError(http.StatusInternalServerError, "internal", "internal error; the server log has the details under this request's ID"), false
}

// writeError answers with the JSON error for err, logging unknown errors.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, known := classify(err)
	if !known {
		s.log.ErrorContext(r.Context(), "internal error", slog.String("request_id", requestID(r.Context())), slog.Any("error", err))
	}
	if known {
		s.metrics.refusals.WithLabelValues(ae.Code).Inc()
	}
	writeJSONError(w, ae)
}

func writeJSONError(w http.ResponseWriter, ae *Error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	if ae.Code == "unavailable" {
		h.Set("Retry-After", "1")
	}
	w.WriteHeader(ae.Status)
	json.NewEncoder(w).Encode(struct {
		Error *Error `json:"error"`
	}{ae})
}
