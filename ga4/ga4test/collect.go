package ga4test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// collect answers /mp/collect as Google does: 204 at once (unless a fault
// says otherwise), the body analysed later (see processPendingLocked).
func (s *Server) collect(w http.ResponseWriter, r *http.Request) {
	at := s.now()
	body, err := readBody(r)
	if err != nil {
		return // the client went away
	}
	q := r.URL.Query()
	log := RequestLog{ReceivedAt: at, Path: r.URL.Path, MeasurementID: q.Get("measurement_id"), Bytes: len(body)}
	fault, retryAfter := s.delayAndPick(r.Context())
	switch fault {
	case Fault5xx, Fault429:
		s.answerFault(w, &log, fault, retryAfter)
		return
	}
	s.enqueueCollect(&log, q.Get("api_secret"), body, fault == FaultDrop)
	if fault == FaultDrop {
		hangUp(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) debugCollect(w http.ResponseWriter, r *http.Request) {
	at := s.now()
	body, err := readBody(r)
	if err != nil {
		return
	}
	log := RequestLog{ReceivedAt: at, Path: r.URL.Path, MeasurementID: r.URL.Query().Get("measurement_id"), Bytes: len(body)}
	fault, retryAfter := s.delayAndPick(r.Context())
	switch fault {
	case Fault5xx, Fault429:
		s.answerFault(w, &log, fault, retryAfter)
		return
	case FaultDrop:
		s.logRequest(&log, 0, fault)
		hangUp(w)
		return
	}
	msgs, err := ga4.ValidateJSON(body, at)
	if err != nil {
		msgs = []ga4.Message{{FieldPath: "body", Code: ga4.CodeValueInvalid, Description: "The request body is not a JSON object."}}
	}
	s.logRequest(&log, http.StatusOK, "")
	writeJSON(w, map[string]any{"validationMessages": append([]ga4.Message{}, msgs...)})
}

// delayAndPick waits the configured latency and picks this request's fault.
func (s *Server) delayAndPick(ctx context.Context) (string, time.Duration) {
	s.mu.Lock()
	f := &s.faults
	delay := f.Latency
	if f.Jitter > 0 {
		delay += time.Duration(s.rng.Int64N(int64(f.Jitter)))
	}
	fault := s.pickLocked()
	retryAfter := cmpDur(f.RetryAfter, time.Second)
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return fault, retryAfter
}

func (s *Server) pickLocked() string {
	f := &s.faults
	switch {
	case f.NextDrop > 0:
		f.NextDrop--
		return FaultDrop
	case f.Next5xx > 0:
		f.Next5xx--
		return Fault5xx
	case f.Next429 > 0:
		f.Next429--
		return Fault429
	}
	if f.ShareDrop+f.Share5xx+f.Share429 == 0 {
		return ""
	}
	u := s.rng.Float64()
	switch {
	case u < f.ShareDrop:
		return FaultDrop
	case u < f.ShareDrop+f.Share5xx:
		return Fault5xx
	case u < f.ShareDrop+f.Share5xx+f.Share429:
		return Fault429
	}
	return ""
}

func (s *Server) answerFault(w http.ResponseWriter, log *RequestLog, fault string, retryAfter time.Duration) {
	if fault == Fault429 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
		s.logRequest(log, http.StatusTooManyRequests, fault)
		http.Error(w, "emulated rate limit", http.StatusTooManyRequests)
		return
	}
	s.logRequest(log, http.StatusInternalServerError, fault)
	http.Error(w, "emulated server error", http.StatusInternalServerError)
}

// hangUp closes the connection without answering.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2: abort the stream instead
	}
	_ = conn.Close()
}

func (s *Server) logRequest(log *RequestLog, status int, fault string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logRequestLocked(log, status, fault)
	s.notifyLocked()
}

func (s *Server) logRequestLocked(log *RequestLog, status int, fault string) {
	s.stats.Requests++
	if log.Path == ga4.DebugCollectPath {
		s.stats.DebugRequests++
	}
	switch fault {
	case Fault5xx:
		s.stats.Faults5xx++
	case Fault429:
		s.stats.Faults429++
	case FaultDrop:
		s.stats.FaultsDrop++
	}
	s.nextReq++
	log.ID = s.nextReq
	log.Status, log.Fault = status, fault
	s.requests = trim(append(s.requests, *log), s.max)
}

func cmpInt(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}

func cmpDur(a, b time.Duration) time.Duration {
	if a != 0 {
		return a
	}
	return b
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
