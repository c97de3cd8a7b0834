package ga4test

import (
	"encoding/json"
	"io"
	"net/http"
)

func (s *Server) getEvents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"events": nonNil(s.Events())})
}

func (s *Server) getRequests(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"requests": nonNil(s.Requests())})
}

func (s *Server) getStats(w http.ResponseWriter, _ *http.Request) { writeJSON(w, s.Stats()) }

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
