package ga4test

import "time"

// PendingBodies returns how many bodies wait for analysis, analysing none.
func (s *Server) PendingBodies() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// CountedStats returns the counters as they stand, analysing no pending
// body (Stats analyses them first).
func (s *Server) CountedStats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// GateAnalysis makes each analysis in the request path call gate with the
// body first (readers still analyse at once). Call it before any request.
func (s *Server) GateAnalysis(gate func(body []byte)) {
	next := s.analyse
	s.analyse = func(body []byte, at time.Time) analysis {
		gate(body)
		return next(body, at)
	}
}

// RecordedEvents returns every event held, past the MaxRecorded window too,
// analysing no pending body.
func (s *Server) RecordedEvents() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// HoldRequests makes each /mp/collect and /debug/mp/collect request call
// hold once admitted, before its latency and answer. Call it before any
// request.
func (s *Server) HoldRequests(hold func()) { s.admitted = hold }
