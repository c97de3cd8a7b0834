package ga4test

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// dataAPI is the state of the emulated GA4 Data API: which property reads
// which streams, the seeded sessions and the tokens spent. Its maps and
// counters are guarded by Server.mu.
type dataAPI struct {
	properties map[string][]string // property id -> measurement ids; nil: all
	currency   string
	loc        *time.Location
	seed       uint64
	sessions   map[int64]Channel // session start (Unix seconds) -> channel
	// Core tokens spent in the current hour and day (the quota resets
	// with the clock, Options.Now).
	hour, day             time.Time
	hourTokens, dayTokens int64
}

func (d *dataAPI) init(opts *Options, seed uint64) error {
	d.currency = cmp.Or(opts.Currency, "USD")
	if _, ok := usdPer[d.currency]; !ok {
		return fmt.Errorf("ga4test: Options.Currency %q: the emulator converts only %s", d.currency, knownCurrencies())
	}
	d.loc = opts.TimeZone
	if d.loc == nil {
		d.loc = time.UTC
	}
	for id := range opts.Properties {
		if !allDigits(id) {
			return fmt.Errorf("ga4test: Options.Properties: %q is not a numeric GA4 property id", id)
		}
	}
	d.properties, d.seed, d.sessions = opts.Properties, seed, map[int64]Channel{}
	return nil
}

func (s *Server) dataRoutes() {
	s.mux.HandleFunc("POST /v1beta/properties/{call}", s.dataCall)
	s.mux.HandleFunc("GET /emulator/sessions", s.getSessions)
	s.mux.HandleFunc("PUT /emulator/sessions", s.putSessions)
}

// Google's status names for the Data API's error envelope.
const (
	statusInvalidArgument   = "INVALID_ARGUMENT"
	statusPermissionDenied  = "PERMISSION_DENIED"
	statusNotFound          = "NOT_FOUND"
	statusResourceExhausted = "RESOURCE_EXHAUSTED"
)

// apiError is a Data API error: Google's envelope
// {"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED"}}.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

func (e *apiError) Error() string { return e.Message }

func invalidArgument(format string, args ...any) *apiError {
	return &apiError{Code: http.StatusBadRequest, Status: statusInvalidArgument, Message: fmt.Sprintf(format, args...)}
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	_ = json.NewEncoder(w).Encode(map[string]*apiError{"error": e})
}

// dataCall serves POST /v1beta/properties/{id}:runReport and
// :checkCompatibility.
func (s *Server) dataCall(w http.ResponseWriter, r *http.Request) {
	id, method, _ := strings.Cut(r.PathValue("call"), ":")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	var out any
	var apiErr *apiError
	switch method {
	case "runReport":
		out, apiErr = s.runReport(id, body)
	case "checkCompatibility":
		out, apiErr = s.checkCompatibility(id, body)
	default:
		apiErr = &apiError{Code: http.StatusNotFound, Status: statusNotFound, Message: fmt.Sprintf("method %q not found", method)}
	}
	if apiErr != nil {
		writeAPIError(w, apiErr)
		return
	}
	writeJSON(w, out)
}

// admitLocked counts a Data API request and checks the property, the 429
// fault and the token quota; it returns the measurement ids the property
// reads (nil: all).
func (s *Server) admitLocked(id string) ([]string, *apiError) {
	s.stats.ReportRequests++
	s.notifyLocked()
	if !allDigits(id) {
		return nil, invalidArgument("properties/%s: the property id must be the numeric GA4 property id (Admin > Property details), not a measurement id", id)
	}
	mids, ok := s.data.properties[id]
	if s.data.properties != nil && !ok {
		return nil, &apiError{Code: http.StatusForbidden, Status: statusPermissionDenied,
			Message: fmt.Sprintf("User does not have sufficient permissions for this property (properties/%s).", id)}
	}
	if s.faults.ReportNext429 > 0 {
		s.faults.ReportNext429--
		s.stats.ReportFaults429++
		return nil, &apiError{Code: http.StatusTooManyRequests, Status: statusResourceExhausted,
			Message: "Exhausted property tokens per hour quota. Consumed: 40000 tokens; limit: 40000 tokens."}
	}
	if q := s.data.quota(s.now(), false); q.TokensPerHour.Remaining < reportTokenCost ||
		q.TokensPerDay.Remaining < reportTokenCost || q.TokensPerProjectPerHour.Remaining < reportTokenCost {
		s.stats.ReportFaults429++
		return nil, &apiError{Code: http.StatusTooManyRequests, Status: statusResourceExhausted,
			Message: "Exhausted property tokens per hour quota. The quota resets at the start of the next hour."}
	}
	if s.data.properties == nil {
		return nil, nil
	}
	if mids == nil {
		mids = []string{} // a property without streams reports nothing
	}
	return mids, nil
}

// getSessions lists the seeded sessions, by session start.
func (s *Server) getSessions(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	out := make(map[string]Channel, len(s.data.sessions))
	for start, ch := range s.data.sessions {
		out[fmt.Sprint(start)] = ch
	}
	s.mu.Unlock()
	writeJSON(w, map[string]any{"sessions": out})
}

// putSessions seeds the sessions of a JSON object {"<session id>":
// {"group": ..., "source_medium": ..., "campaign": ...}}.
func (s *Server) putSessions(w http.ResponseWriter, r *http.Request) {
	var m map[string]Channel
	b, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err == nil {
		err = s.SeedSessions(m)
	}
	if err != nil {
		http.Error(w, "sessions: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ParseSessions reads a sessions file: a JSON object mapping session ids
// to channels, {"1747132561": {"group": "Organic Search", "source_medium":
// "google / organic", "campaign": "(organic)"}}.
func ParseSessions(b []byte) (map[string]Channel, error) {
	var m map[string]Channel
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse sessions: %w", err)
	}
	for id, ch := range m {
		if ch.Group == "" {
			return nil, fmt.Errorf("parse sessions: session %s: group is required", id)
		}
	}
	return m, nil
}

// int64String is an int64 that JSON carries as a string ("10000", as
// Google's clients send limit and offset) or as a number.
type int64String int64

func (n *int64String) UnmarshalJSON(b []byte) error {
	var v json.Number
	if err := json.Unmarshal(b, &v); err != nil {
		var s string
		if err2 := json.Unmarshal(b, &s); err2 != nil {
			return errors.New("not an integer")
		}
		v = json.Number(s)
	}
	i, err := v.Int64()
	if err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}
	*n = int64String(i)
	return nil
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// knownCurrencies lists usdPer's currencies for an error message.
func knownCurrencies() string {
	return strings.Join(slices.Sorted(maps.Keys(usdPer)), ", ")
}
