package ga4test

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// Options configures NewServer. A nil Options accepts every measurement id
// and api_secret, injects no faults and uses the real clock.
type Options struct {
	// Secrets maps a measurement id to its accepted api_secrets. When set,
	// a request for an unlisted id or with another secret is answered 204
	// and its events are recorded as dropped, as Google does. Nil accepts
	// everything.
	Secrets map[string][]string
	// Faults are the faults at start; change them with SetFaults.
	Faults Faults
	// Seed seeds the fault generator. Defaults to 1.
	Seed uint64
	// Now is the clock for receive times and validation. Defaults to
	// time.Now.
	Now func() time.Time
	// MaxRecorded caps the events and the requests that Events, Accepted
	// and Requests return (the oldest go first; counters and duplicate
	// detection keep counting). Memory holds at most twice as many, so that
	// recording stays cheap, plus at most MaxRecorded bodies not analysed
	// yet: past that, each request analyses the oldest pending body.
	// Zero keeps everything and analyses nothing until read, which suits
	// tests and benchmarks; the emulator subcommand keeps 100000.
	MaxRecorded int
	// MaxConcurrentStreams caps the HTTP/2 streams a client may have open
	// on one connection (HTTPServer, Start, StartTLS). Defaults to
	// DefaultMaxConcurrentStreams (100), Google's figure.
	MaxConcurrentStreams int
	// HTTP1Only makes HTTPServer, Start and StartTLS speak HTTP/1.1 only:
	// no h2 in the TLS handshake's ALPN, no h2c. It emulates an endpoint
	// (or a proxy on the way) that speaks HTTP/1.1 only.
	HTTP1Only bool

	// Properties maps a GA4 property id (the number the Data API is asked
	// about) to the measurement ids of its web streams: runReport on that
	// property reports the purchases sent to them. Nil: every numeric
	// property id reports every purchase received. When set, a property
	// not listed is answered 403 PERMISSION_DENIED, as Google answers a
	// property the caller cannot read.
	Properties map[string][]string
	// Currency is the properties' currency, the Data API's
	// metadata.currencyCode: revenue in another currency is converted
	// (dataapi.go). Defaults to USD.
	Currency string
	// TimeZone is the properties' time zone: the day a purchase counts on
	// for dateRanges. Defaults to UTC.
	TimeZone *time.Location
}

// Server is the emulator. It is an http.Handler; Start runs it in-process.
//
// Like Google, it answers /mp/collect first and analyses later: a request
// is logged and counted (Requests, FaultsDrop) at once; its body is decoded,
// validated and its events recorded when a reader (Events, EventsSince,
// Accepted, Requests, Stats, WaitFor, the /emulator/ API) asks, which then
// sees exactly what analysing on arrival would have given. This keeps the
// emulator's JSON decoding, CPU Google spends on its own machines, out of
// benchmarks of the sidecar.
type Server struct {
	// URL is the base URL when started with Start ("" otherwise).
	URL string

	secrets map[string][]string
	now     func() time.Time
	max     int
	// maxStreams and http1Only are Options.MaxConcurrentStreams and
	// HTTP1Only, for HTTPServer.
	maxStreams int
	http1Only  bool
	analyse    func(body []byte, at time.Time) analysis // analyseBody; tests gate it
	admitted   func()                                   // nil; tests hold MP requests here

	mu       sync.Mutex
	faults   Faults
	rng      *rand.Rand
	events   []Event
	requests []RequestLog
	pending  []pendingBody // answered, not recorded yet, in arrival order
	claimed  int           // pending[:claimed] are being analysed by requests
	stats    Stats
	seenTIDs map[string]int
	nextSeq  int64
	nextReq  int64
	changed  chan struct{}
	mux      *http.ServeMux

	cert      *x509.Certificate // served over TLS (HTTPServer)
	transport TransportStats
	conns     map[net.Conn]*connInfo // open connections (HTTPServer)
	connGen   int64                  // Reset generation, from 1
	mpOpen    int                    // open connections counted in MPConnections

	data dataAPI // the Data API's properties, sessions and quota (dataapi.go)
}

// NewServer returns an emulator handler.
func NewServer(opts *Options) (*Server, error) {
	if opts == nil {
		opts = &Options{}
	}
	if err := opts.Faults.validate(); err != nil {
		return nil, err
	}
	seed := cmp.Or(opts.Seed, 1)
	if opts.MaxRecorded < 0 || opts.MaxConcurrentStreams < 0 {
		return nil, errors.New("ga4test: MaxRecorded and MaxConcurrentStreams must not be negative")
	}
	s := &Server{
		max:        opts.MaxRecorded,
		maxStreams: cmp.Or(opts.MaxConcurrentStreams, DefaultMaxConcurrentStreams),
		http1Only:  opts.HTTP1Only,
		conns:      map[net.Conn]*connInfo{},
		connGen:    1,
		secrets:    opts.Secrets,
		now:        opts.Now,
		analyse:    analyseBody,
		faults:     opts.Faults,
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		seenTIDs:   map[string]int{},
		changed:    make(chan struct{}),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.data.init(opts, seed); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST "+ga4.CollectPath, s.collect)
	s.mux.HandleFunc("POST "+ga4.DebugCollectPath, s.debugCollect)
	s.mux.HandleFunc("GET /emulator/events", s.getEvents)
	s.mux.HandleFunc("GET /emulator/requests", s.getRequests)
	s.mux.HandleFunc("GET /emulator/stats", s.getStats)
	s.mux.HandleFunc("GET /emulator/faults", s.getFaults)
	s.mux.HandleFunc("PUT /emulator/faults", s.putFaults)
	s.mux.HandleFunc("POST /emulator/reset", s.postReset)
	s.dataRoutes()
}

// ServeHTTP serves /mp/collect, /debug/mp/collect and the /emulator/ API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetFaults replaces the faults at runtime.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// Faults returns the current faults (Next counters count down as used).
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Events returns a copy of every event received (accepted and dropped), in
// arrival order. Like every reader, it first analyses the pending bodies.
func (s *Server) Events() []Event { return s.EventsSince(0) }

// EventsSince returns a copy of the events with Seq > seq.
func (s *Server) EventsSince(seq int64) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processPendingLocked()
	events := window(s.events, s.max)
	i, _ := slices.BinarySearchFunc(events, seq+1, func(e Event, target int64) int { return cmp.Compare(e.Seq, target) })
	return append([]Event(nil), events[i:]...)
}

// Accepted returns a copy of the events that were not dropped.
func (s *Server) Accepted() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processPendingLocked()
	var out []Event
	for _, e := range window(s.events, s.max) {
		if !e.Dropped {
			out = append(out, e)
		}
	}
	return out
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []RequestLog {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processPendingLocked()
	return append([]RequestLog(nil), window(s.requests, s.max)...)
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.processPendingLocked()
	return s.stats
}

// Reset forgets every event, request, pending body and counter, the
// TransportStats too (faults stay; open connections stay open).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events, s.requests, s.pending, s.claimed, s.stats = nil, nil, nil, 0, Stats{}
	s.nextSeq, s.nextReq = 0, 0
	s.seenTIDs = map[string]int{}
	s.resetTransportLocked()
	s.notifyLocked()
}

// Changed returns a channel closed at the next change (a request answered,
// a connection accepted or closed, a Reset). Call it again after it fires.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Received returns the number of requests that arrived so far (Stats'
// Requests) without analysing the bodies still pending: cheap enough to
// poll while a load runs.
func (s *Server) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Requests
}

// WaitReceived waits until n requests have arrived, analysing nothing on
// the way (WaitFor analyses the pending bodies on every wake-up, which
// holds up requests arriving meanwhile).
func (s *Server) WaitReceived(ctx context.Context, n int) error {
	for {
		ch := s.Changed()
		if s.Received() >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("ga4test: %d of %d requests received", s.Received(), n), ctx.Err())
		}
	}
}

// WaitFor blocks until cond holds for the stats or ctx ends.
func (s *Server) WaitFor(ctx context.Context, cond func(Stats) bool) error {
	for {
		ch := s.Changed()
		if cond(s.Stats()) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return errors.Join(errors.New("ga4test: condition not met"), ctx.Err())
		}
	}
}

// WaitAccepted blocks until at least n events were accepted and returns
// them.
func (s *Server) WaitAccepted(ctx context.Context, n int) ([]Event, error) {
	err := s.WaitFor(ctx, func(st Stats) bool { return st.Accepted >= n })
	return s.Accepted(), err
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// readBody reads at most twice the MP limit (Google rejects more anyway).
func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r.Body, 2*ga4.MaxBodyBytes))
}

// trim drops the oldest entries once a list holds twice max, so that
// recording stays amortised O(1) per entry (trimming at every append past
// max moved the whole list each time); window shows only the last max.
func trim[T any](list []T, max int) []T {
	if max <= 0 || len(list) < 2*max {
		return list
	}
	return append(list[:0], list[len(list)-max:]...)
}

// window returns the last max entries of list (all when max is 0).
func window[T any](list []T, max int) []T {
	if max <= 0 || len(list) <= max {
		return list
	}
	return list[len(list)-max:]
}
