package ga4test

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// pendingBody is a /mp/collect body that was answered but not analysed yet,
// with what the analysis needs.
type pendingBody struct {
	requestID     int64
	receivedAt    time.Time // also the validation clock
	measurementID string
	secret        string // the api_secret of the query
	body          []byte
	result        *analysis // nil until claimed for analysis or analysed
}

// analysis is what decoding and validating a body gives.
type analysis struct {
	done     bool
	req      *ga4.Request // nil when the body is not a JSON object
	problems []ga4.Message
}

// analyseBody decodes and validates body against the clock at.
func analyseBody(body []byte, at time.Time) analysis {
	req, _, err := ga4.DecodeRequest(body)
	var problems []ga4.Message
	if err == nil {
		problems, _ = ga4.ValidateJSON(body, at)
	}
	return analysis{done: true, req: req, problems: problems}
}

// enqueueCollect logs an accepted /mp/collect request with its fault, ""
// or drop or GOAWAY (Requests and the fault counters count at once), and
// keeps its body for processPendingLocked. Past MaxRecorded pending bodies it analyses the oldest unclaimed one,
// outside the lock, so that memory stays bounded at one analysis per
// request and requests still analyse in parallel.
func (s *Server) enqueueCollect(log *RequestLog, secret string, body []byte, fault string) {
	claim, ok := s.enqueue(log, secret, body, fault)
	if !ok {
		return
	}
	a := s.analyse(claim.body, claim.receivedAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	*claim.result = a // unseen when a reader recorded the body meanwhile
	s.recordAnalysedLocked()
}

// enqueue logs the request, appends its body to pending and, past
// MaxRecorded unclaimed bodies, claims the oldest unclaimed one.
func (s *Server) enqueue(log *RequestLog, secret string, body []byte, fault string) (pendingBody, bool) {
	status := http.StatusNoContent
	if fault == FaultDrop {
		status = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logRequestLocked(log, status, fault)
	s.pending = append(s.pending, pendingBody{requestID: log.ID, receivedAt: log.ReceivedAt,
		measurementID: log.MeasurementID, secret: secret, body: body})
	s.notifyLocked()
	if s.max == 0 || len(s.pending)-s.claimed <= s.max {
		return pendingBody{}, false
	}
	p := &s.pending[s.claimed]
	p.result = &analysis{}
	s.claimed++
	return *p, true
}

// recordAnalysedLocked records the analysed bodies at the head of pending,
// keeping arrival order when claims finish out of order.
func (s *Server) recordAnalysedLocked() {
	n := 0
	for ; n < len(s.pending) && s.pending[n].result != nil && s.pending[n].result.done; n++ {
		s.recordLocked(&s.pending[n], s.pending[n].result)
	}
	clear(s.pending[:n]) // free the bodies; append reallocates the queue
	s.pending = s.pending[n:]
	s.claimed -= n
}

// processPendingLocked analyses the pending bodies and records them in
// arrival order. Every reader calls it first, so what it sees is what
// eager analysis would have recorded.
func (s *Server) processPendingLocked() {
	for i := range s.pending {
		p := &s.pending[i]
		a := p.result
		if a == nil || !a.done { // a claim still analysing ends unseen
			fresh := analyseBody(p.body, p.receivedAt)
			a = &fresh
		}
		s.recordLocked(p, a)
	}
	clear(s.pending)
	s.pending, s.claimed = s.pending[:0], 0
}

// recordLocked records the events of body p analysed as a, accepted or
// dropped, and their number in its request log.
func (s *Server) recordLocked(p *pendingBody, a *analysis) {
	req := a.req
	if req == nil {
		return
	}
	reason := s.dropReason(p.measurementID, p.secret)
	s.setEventCountLocked(p.requestID, len(req.Events))
	for i := range req.Events {
		s.recordEventLocked(p, req, &req.Events[i], reason, a.problems)
	}
}

// setEventCountLocked sets RequestLog.Events of request id, unless the log
// was trimmed past it.
func (s *Server) setEventCountLocked(id int64, n int) {
	i, ok := slices.BinarySearchFunc(s.requests, id, func(l RequestLog, id int64) int { return cmp.Compare(l.ID, id) })
	if ok {
		s.requests[i].Events = n
	}
}

func (s *Server) dropReason(measurementID, secret string) string {
	switch {
	case measurementID == "":
		return "missing measurement_id"
	case s.secrets == nil:
		return ""
	}
	allowed, ok := s.secrets[measurementID]
	switch {
	case !ok:
		return "unknown measurement_id"
	case !slices.Contains(allowed, secret):
		return "wrong api_secret"
	}
	return ""
}

func (s *Server) recordEventLocked(p *pendingBody, req *ga4.Request, e *ga4.Event, reason string, problems []ga4.Message) {
	ev := Event{
		RequestID: p.requestID, ReceivedAt: p.receivedAt,
		MeasurementID: p.measurementID, ClientID: req.ClientID, UserID: req.UserID, Consent: req.Consent,
		Name: e.Name, TimestampMicros: cmpInt(e.TimestampMicros, req.TimestampMicros), Params: e.Params,
		Dropped: reason != "", DropReason: reason, Problems: problems,
	}
	ev.TransactionID, _ = e.Params["transaction_id"].(string)
	if ev.Dropped {
		s.stats.Dropped++
	} else {
		s.stats.Accepted++
		if len(problems) > 0 {
			s.stats.WithProblems++
		}
		if ev.TransactionID != "" {
			ev.Duplicate = s.seenTIDs[ev.TransactionID] > 0
			s.seenTIDs[ev.TransactionID]++
			if ev.Duplicate {
				s.stats.Duplicates++
			}
		}
	}
	s.nextSeq++
	ev.Seq = s.nextSeq
	s.events = trim(append(s.events, ev), s.max)
}
