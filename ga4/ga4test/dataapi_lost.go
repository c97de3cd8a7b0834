package ga4test

// ReportLoses reports whether the Data API leaves the purchase with
// transactionID out of its answers (Faults.ReportLoseShare): the same
// draw, by hashing the id with Options.Seed, that every runReport makes,
// so a caller can know in advance which purchases GA4 will not find.
// False when no share is lost.
func (s *Server) ReportLoses(transactionID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.drawn(transactionID, "lose", s.faults.ReportLoseShare)
}
