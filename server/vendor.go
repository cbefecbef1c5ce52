package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/seatkey/seatkey/issuer"
	"github.com/seatkey/seatkey/license"
)

type tokenKey struct{}

// vendor admits requests with a live API token (Authorization: Bearer) whose
// scope allows need.
func (s *Server) vendor(need issuer.Scope, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		scheme, secret, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="seatkey"`)
			s.writeError(w, r, apiError(http.StatusUnauthorized, "unauthorized", "an API token is required: Authorization: Bearer skt_..."))
			return
		}
		t, err := s.ledger.APITokenFor(strings.TrimSpace(secret))
		if err != nil {
			if err == issuer.ErrBadToken {
				w.Header().Set("WWW-Authenticate", `Bearer realm="seatkey", error="invalid_token"`)
				err = apiError(http.StatusUnauthorized, "unauthorized", "the API token is not valid or was revoked")
			}
			s.writeError(w, r, err)
			return
		}
		if !t.Scope.Allows(need) {
			s.writeError(w, r, apiError(http.StatusForbidden, "insufficient_scope", "this API token has scope "+string(t.Scope)+"; this needs "+string(need)))
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	}
}

// filter reads ?customer= and ?license=.
func filter(r *http.Request) (issuer.Filter, error) {
	q := r.URL.Query()
	f := issuer.Filter{Customer: q.Get("customer")}
	if s := q.Get("license"); s != "" {
		id, err := license.ParseID(s)
		if err != nil {
			return f, apiError(http.StatusBadRequest, "bad_id", "license: "+err.Error())
		}
		f.License = id
	}
	return f, nil
}

func (s *Server) customers(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cs, err := s.ledger.Customers(f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"customers": cs})
}

func (s *Server) licenses(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ls, err := s.ledger.Licenses(f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"licenses": ls})
}

// DeviceInfo is a device as GET /v1/devices shows it: the ledger's row and
// its check-in state. LastSeen is absent for a device that never checked in.
type DeviceInfo struct {
	issuer.Device
	LastSeen           *time.Time `json:"last_seen,omitempty"`
	CheckIns           int64      `json:"checkins"`
	SuspectedDuplicate bool       `json:"suspected_duplicate"`
	Inactive           bool       `json:"inactive,omitempty"`
}

// devices is GET /v1/devices[?customer=&license=&inactive_for=DURATION],
// streamed. With inactive_for, only devices in use (not decommissioned) that
// have not checked in (or, never having checked in, not been activated) for
// that long.
func (s *Server) devices(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var inactive time.Duration
	if v := r.URL.Query().Get("inactive_for"); v != "" {
		if inactive, err = time.ParseDuration(v); err != nil || inactive <= 0 {
			s.writeError(w, r, apiError(http.StatusBadRequest, "bad_parameter", "inactive_for: a positive duration such as 720h"))
			return
		}
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.ReportTimeout))
	now := s.ledger.Now()
	w.Header().Set("Content-Type", "application/json")
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 32<<10)
	enc := json.NewEncoder(bw)
	bw.WriteString(`{"devices":[`)
	first := true
	err = s.ledger.EachDeviceSeen(f, func(d *issuer.Device, st issuer.Seen) error {
		di := DeviceInfo{Device: *d, CheckIns: st.CheckIns, SuspectedDuplicate: st.SuspectedDuplicate}
		last := d.LastActivated
		if !st.LastSeen.IsZero() {
			di.LastSeen = &st.LastSeen
			if st.LastSeen.After(last) {
				last = st.LastSeen
			}
		}
		if inactive > 0 {
			if d.Status == "decommissioned" || now.Sub(last) < inactive {
				return nil
			}
			di.Inactive = true
		}
		if !first {
			bw.WriteByte(',')
		}
		first = false
		return enc.Encode(di)
	})
	if err != nil {
		if cw.n == 0 { // nothing sent yet: a proper error
			w.Header().Del("Content-Type")
			s.writeError(w, r, err)
			return
		}
		s.log.ErrorContext(r.Context(), "device list failed mid-stream", "request_id", requestID(r.Context()), "error", err)
		return
	}
	bw.WriteString("]}\n")
	bw.Flush()
}

// report is GET /v1/report?format=csv|json, streamed.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	f, err := filter(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "csv" && format != "json" {
		s.writeError(w, r, apiError(http.StatusBadRequest, "bad_parameter", "format: csv or json"))
		return
	}
	table := r.URL.Query().Get("table")
	if table == "" {
		table = "devices"
	}
	if table != "devices" && table != "summary" {
		s.writeError(w, r, apiError(http.StatusBadRequest, "bad_parameter", "table: devices or summary"))
		return
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.ReportTimeout))
	// Check the filter names something before streaming a 200.
	if f.License != (license.ID{}) || f.Customer != "" {
		ls, err := s.ledger.Licenses(f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(ls) == 0 {
			s.writeError(w, r, apiError(http.StatusNotFound, "not_found", "no license matches the filter"))
			return
		}
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="seatkey-report.csv"`)
		if table == "summary" {
			err = s.ledger.WriteSummaryCSV(w, f)
		} else {
			err = s.ledger.WriteDeviceCSV(w, f)
		}
	} else {
		w.Header().Set("Content-Type", "application/json")
		err = s.ledger.WriteJSON(w, f)
	}
	if err != nil {
		// The status is sent; the truncated body is the signal. Log why.
		s.log.ErrorContext(r.Context(), "report failed mid-stream", "request_id", requestID(r.Context()), "error", err)
	}
}

// RevokeRequest is the body of POST /v1/revocations.
type RevokeRequest struct {
	Target string    `json:"target"`           // lic_..., act_... or key_...
	Reason string    `json:"reason,omitempty"` // default unspecified
	At     time.Time `json:"at,omitzero"`      // default now
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	b, _, err := readBody(w, r, TypeJSON)
	var req RevokeRequest
	if err == nil {
		err = decodeJSON(b, &req)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Reason == "" {
		req.Reason = "unspecified"
	}
	reason, err := license.ParseReason(req.Reason)
	if err != nil {
		s.writeError(w, r, apiError(http.StatusBadRequest, "bad_parameter", "reason: "+err.Error()))
		return
	}
	if (reason == license.ReasonRetired || reason == license.ReasonKeyCompromise) && !strings.HasPrefix(req.Target, "key_") {
		s.writeError(w, r, apiError(http.StatusBadRequest, "bad_parameter", "reason "+reason.String()+" applies to signing keys (key_...) only"))
		return
	}
	var already bool
	err = s.write(r.Context(), func() (err error) {
		already, err = s.ledger.Revoke(req.Target, reason, req.At)
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"target": req.Target, "reason": reason, "already_revoked": already})
}

// PublishRequest is the body of POST /v1/revocations/publish; it may be empty.
type PublishRequest struct {
	ValidFor string `json:"valid_for,omitempty"` // Go duration; default the server's
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	validity := s.cfg.RevocationValidity
	if r.ContentLength != 0 {
		b, _, err := readBody(w, r, TypeJSON)
		var req PublishRequest
		if err == nil {
			err = decodeJSON(b, &req)
		}
		if err == nil && req.ValidFor != "" {
			if validity, err = time.ParseDuration(req.ValidFor); err != nil || validity <= 0 {
				err = apiError(http.StatusBadRequest, "bad_parameter", "valid_for: a positive duration such as 168h")
			}
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var tok []byte
	var list *license.Revocations
	err := s.write(r.Context(), func() (err error) {
		tok, list, err = s.ledger.PublishRevocationList(s.cfg.Key, s.cfg.Vendor, validity)
		return err
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	nl, na, nk := list.Len()
	writeJSON(w, http.StatusCreated, map[string]any{"sequence": list.Sequence, "issued_at": list.IssuedAt, "next_update": list.NextUpdate,
		"licenses": nl, "activations": na, "keys": nk, "size": len(tok)})
}

func (s *Server) unsuspend(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	err := s.write(r.Context(), func() error { return s.ledger.Unsuspend(name) })
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer": name, "suspended": false})
}

// countingWriter counts the bytes that reached the client.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
