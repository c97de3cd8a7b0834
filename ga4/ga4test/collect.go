package ga4test

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
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
	log := newRequestLog(r, at, q, len(body))
	fault, retryAfter := s.delayAndPick(r)
	switch fault {
	case Fault5xx, Fault429:
		s.answerFault(w, &log, fault, retryAfter)
		return
	}
	s.enqueueCollect(&log, q.Get("api_secret"), body, fault)
	if fault == FaultDrop {
		hangUp(w)
		return
	}
	endConnAfterGoAway(w, fault)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) debugCollect(w http.ResponseWriter, r *http.Request) {
	at := s.now()
	body, err := readBody(r)
	if err != nil {
		return
	}
	log := newRequestLog(r, at, r.URL.Query(), len(body))
	fault, retryAfter := s.delayAndPick(r)
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
	s.logRequest(&log, http.StatusOK, fault)
	endConnAfterGoAway(w, fault)
	writeJSON(w, map[string]any{"validationMessages": append([]ga4.Message{}, msgs...)})
}

// newRequestLog starts the log entry of an MP request.
func newRequestLog(r *http.Request, at time.Time, q url.Values, bytes int) RequestLog {
	return RequestLog{ReceivedAt: at, Path: r.URL.Path, Proto: r.Proto, MeasurementID: q.Get("measurement_id"), Bytes: bytes}
}

// endConnAfterGoAway, on a GOAWAY fault, asks the server to end the
// connection after the answer: net/http's HTTP/2 server turns
// "Connection: close" into a graceful GOAWAY (the streams in flight
// finish), its HTTP/1.1 server closes after the answer.
func endConnAfterGoAway(w http.ResponseWriter, fault string) {
	if fault == FaultGoAway {
		w.Header().Set("Connection", "close")
	}
}

// delayAndPick counts the request's connection (TransportStats), picks
// its fault and waits the configured latency.
func (s *Server) delayAndPick(r *http.Request) (string, time.Duration) {
	ctx := r.Context()
	s.mu.Lock()
	s.noteMPConnLocked(r)
	f := &s.faults
	delay := f.Latency
	if f.Jitter > 0 {
		delay += time.Duration(s.rng.Int64N(int64(f.Jitter)))
	}
	fault := s.pickLocked()
	retryAfter := cmpDur(f.RetryAfter, time.Second)
	s.mu.Unlock()
	if s.admitted != nil {
		s.admitted()
	}
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
	case f.NextGoAway > 0:
		f.NextGoAway--
		return FaultGoAway
	}
	if f.shares() == 0 {
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
	case u < f.shares():
		return FaultGoAway
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

// hangUp fails the request without answering: over HTTP/1.1 it closes
// the connection; over HTTP/2, which cannot hijack, the panic makes the
// server reset the request's stream (RST_STREAM INTERNAL_ERROR, logging
// nothing), and the connection's other streams go on.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
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
	s.countProtoLocked(log.Proto)
	switch fault {
	case Fault5xx:
		s.stats.Faults5xx++
	case Fault429:
		s.stats.Faults429++
	case FaultDrop:
		s.stats.FaultsDrop++
	case FaultGoAway:
		s.stats.FaultsGoAway++
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
