package ga4test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// getEvents lists events; ?since=SEQ lists only newer ones (for polling).
func (s *Server) getEvents(w http.ResponseWriter, r *http.Request) {
	var since int64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			http.Error(w, "since: must be an event seq number", http.StatusBadRequest)
			return
		}
		since = n
	}
	writeJSON(w, map[string]any{"events": nonNil(s.EventsSince(since))})
}

func (s *Server) getRequests(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"requests": nonNil(s.Requests())})
}

// statsJSON is /emulator/stats: the Stats and TransportStats fields in one
// object.
type statsJSON struct {
	Stats
	TransportStats
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) {
	st := s.Stats()
	writeJSON(w, statsJSON{st, s.TransportStats()})
}

func (s *Server) getFaults(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Faults()) }

func (s *Server) putFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err == nil {
		err = s.SetFaults(f)
	}
	if err != nil {
		http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, s.Faults())
}

func (s *Server) postReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
