package ga4test

import (
	"context"
	"net"
	"net/http"
	"strings"
)

// TransportStats counts the emulator's TCP connections and its requests by
// protocol since it started or was Reset. Connections are counted when
// the emulator's own http.Server serves it (Start, StartTLS, HTTPServer);
// a Server mounted on another http.Server counts only requests.
type TransportStats struct {
	// Connections counts the TCP connections accepted, whatever they
	// carried (the /emulator/ API's too).
	Connections int `json:"connections"`
	// OpenConnections is the number of connections open now.
	OpenConnections int `json:"open_connections"`
	// MaxOpenConnections is the most connections open at once (after a
	// Reset, at least those open then).
	MaxOpenConnections int `json:"max_open_connections"`
	// MPConnections counts the connections that carried at least one
	// /mp/collect or /debug/mp/collect request: the connections a
	// Measurement Protocol client opened.
	MPConnections int `json:"mp_connections"`
	// MaxOpenMPConnections is the most such connections open at once.
	MaxOpenMPConnections int `json:"max_open_mp_connections"`
	// HTTP1Requests and HTTP2Requests count the /mp/collect and
	// /debug/mp/collect requests by protocol major version.
	HTTP1Requests int `json:"http1_requests"`
	HTTP2Requests int `json:"http2_requests"`
}

// connInfo is what the emulator knows of one connection; ConnContext puts
// it in every request's context.
type connInfo struct {
	// gen is the Reset generation in which the connection was last counted
	// among MPConnections (0: never). Guarded by Server.mu.
	gen int64
}

type connInfoKey struct{}

// connContext gives each connection its connInfo (http.Server.ConnContext).
func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	info := &connInfo{}
	s.mu.Lock()
	s.conns[c] = info
	s.mu.Unlock()
	return context.WithValue(ctx, connInfoKey{}, info)
}

// connState counts connections opening and closing (http.Server.ConnState).
func (s *Server) connState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.mu.Lock()
		defer s.mu.Unlock()
		t := &s.transport
		t.Connections++
		t.OpenConnections++
		t.MaxOpenConnections = max(t.MaxOpenConnections, t.OpenConnections)
		s.notifyLocked()
	case http.StateClosed, http.StateHijacked:
		s.mu.Lock()
		defer s.mu.Unlock()
		s.transport.OpenConnections--
		if info := s.conns[c]; info != nil && info.gen == s.connGen {
			s.mpOpen--
		}
		delete(s.conns, c)
		s.notifyLocked()
	}
}

// countProtoLocked counts an MP request by its protocol ("HTTP/2.0").
func (s *Server) countProtoLocked(proto string) {
	if strings.HasPrefix(proto, "HTTP/2") {
		s.transport.HTTP2Requests++
	} else {
		s.transport.HTTP1Requests++
	}
}

// noteMPConnLocked counts the connection of an MP request among
// MPConnections, the first time since the last Reset.
func (s *Server) noteMPConnLocked(r *http.Request) {
	info, _ := r.Context().Value(connInfoKey{}).(*connInfo)
	if info == nil || info.gen == s.connGen {
		return
	}
	info.gen = s.connGen
	t := &s.transport
	t.MPConnections++
	s.mpOpen++
	t.MaxOpenMPConnections = max(t.MaxOpenMPConnections, s.mpOpen)
}

// resetTransportLocked starts counting afresh: the open connections stay
// open but count among MPConnections again only when they carry another
// MP request.
func (s *Server) resetTransportLocked() {
	s.connGen++
	s.mpOpen = 0
	open := s.transport.OpenConnections
	s.transport = TransportStats{OpenConnections: open, MaxOpenConnections: open}
}

// TransportStats returns the connection and protocol counters.
func (s *Server) TransportStats() TransportStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}
