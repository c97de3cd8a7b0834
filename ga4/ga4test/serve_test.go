package ga4test_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// tlsClient returns a client that trusts s's certificate and asks for
// HTTP/2 by ALPN, as net/http's default transport does.
func tlsClient(t *testing.T, s *ga4test.Server) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// h2cClient returns a client that speaks HTTP/2 with prior knowledge over
// plaintext, nothing else.
func h2cClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// connCounter counts, client side, the connections a client dialled and
// the requests that got a reused one.
type connCounter struct{ dialled, reused atomic.Int64 }

func (c *connCounter) trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) {
			if err == nil {
				c.dialled.Add(1)
			}
		},
		GotConn: func(info httptrace.GotConnInfo) {
			if info.Reused {
				c.reused.Add(1)
			}
		},
	})
}

// postWith posts a purchase with tid through client, traced by cc when
// not nil.
func postWith(t *testing.T, client *http.Client, url, tid string, cc *connCounter) (*http.Response, error) {
	t.Helper()
	ctx := context.Background()
	if cc != nil {
		ctx = cc.trace(ctx)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+ga4.CollectPath+"?measurement_id=G-EMU1&api_secret=right", bytes.NewReader(body(tid)))
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

// waitTransport waits until cond holds for s's TransportStats.
func waitTransport(t *testing.T, s *ga4test.Server, cond func(ga4test.TransportStats) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		ch := s.Changed()
		if cond(s.TransportStats()) {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			require.FailNow(t, "transport condition not met", "%+v", s.TransportStats())
		}
	}
}

func startTLS(t *testing.T, opts ga4test.Options) *ga4test.Server {
	opts.Secrets = map[string][]string{"G-EMU1": {"right"}}
	opts.Now = func() time.Time { return now }
	return ga4test.StartTLS(t, &opts)
}

func TestStartTLS(t *testing.T) {
	t.Parallel()

	t.Run("SpeaksHTTP2AndRecords", func(t *testing.T) {
		t.Parallel()
		s := startTLS(t, ga4test.Options{})
		require.Regexp(t, `^https://127\.0\.0\.1:\d+$`, s.URL)
		cert := s.Certificate()
		require.NotNil(t, cert)
		require.Equal(t, []string{"localhost"}, cert.DNSNames)
		require.Len(t, cert.IPAddresses, 2)
		client := tlsClient(t, s)
		for _, tid := range []string{"A", "B"} {
			resp, err := postWith(t, client, s.URL, tid, nil)
			require.NoError(t, err)
			require.Equal(t, 2, resp.ProtoMajor)
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
		}
		require.Equal(t, ga4test.Stats{Requests: 2, Accepted: 2}, s.Stats())
		require.Equal(t, "HTTP/2.0", s.Requests()[0].Proto)
		require.Equal(t, ga4test.TransportStats{Connections: 1, OpenConnections: 1, MaxOpenConnections: 1,
			MPConnections: 1, MaxOpenMPConnections: 1, HTTP2Requests: 2}, s.TransportStats())
	})

	t.Run("HTTP1Only", func(t *testing.T) {
		t.Parallel()
		s := startTLS(t, ga4test.Options{HTTP1Only: true})
		resp, err := postWith(t, tlsClient(t, s), s.URL, "A", nil)
		require.NoError(t, err)
		require.Equal(t, 1, resp.ProtoMajor, "ALPN offers no h2")
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		require.Equal(t, 1, s.TransportStats().HTTP1Requests)
	})

	t.Run("UntrustedWithoutItsCertificate", func(t *testing.T) {
		t.Parallel()
		s := startTLS(t, ga4test.Options{})
		_, err := postWith(t, &http.Client{Transport: &http.Transport{}}, s.URL, "A", nil)
		require.ErrorContains(t, err, "certificate")
		require.Zero(t, s.Stats().Requests)
	})

	t.Run("PlaintextHasNoCertificate", func(t *testing.T) {
		t.Parallel()
		s := start(t, ga4test.Faults{})
		require.Nil(t, s.Certificate())
		require.Nil(t, s.CertPool())
	})
}

func TestStartSpeaksH2CWithPriorKnowledge(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{})
	resp, err := postWith(t, h2cClient(t), s.URL, "A", nil)
	require.NoError(t, err)
	require.Equal(t, 2, resp.ProtoMajor)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, err = postWith(t, http.DefaultClient, s.URL, "B", nil)
	require.NoError(t, err)
	require.Equal(t, 1, resp.ProtoMajor)
	tr := s.TransportStats()
	require.Equal(t, []int{1, 1, 2}, []int{tr.HTTP1Requests, tr.HTTP2Requests, tr.MPConnections})

	h1 := ga4test.Start(t, &ga4test.Options{HTTP1Only: true})
	_, err = postWith(t, h2cClient(t), h1.URL, "A", nil)
	require.Error(t, err, "an HTTP/1.1-only endpoint refuses h2c")
}

// TestManyStreamsShareFewConnections holds 300 requests in the handler
// until all arrived: with 100 streams per connection the client needs at
// least 3 connections, and the emulator counts what the client dialled.
func TestManyStreamsShareFewConnections(t *testing.T) {
	t.Parallel()
	const inFlight = 300
	emu := startTLS(t, ga4test.Options{})
	var arrived atomic.Int64
	all := make(chan struct{})
	emu.HoldRequests(func() {
		if arrived.Add(1) == inFlight {
			close(all)
		}
		select {
		case <-all:
		case <-time.After(20 * time.Second): // fail, not hang, if the client queues instead
		}
	})
	client := tlsClient(t, emu)
	cc := &connCounter{}
	var wg sync.WaitGroup
	errs := make(chan error, inFlight)
	for i := range inFlight {
		wg.Go(func() {
			resp, err := postWith(t, client, emu.URL, fmt.Sprint("T-", i), cc)
			if err == nil && resp.ProtoMajor != 2 {
				err = fmt.Errorf("answered over %s", resp.Proto)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	select {
	case <-all:
	default:
		require.FailNow(t, "the requests were not all in flight at once")
	}
	tr := emu.TransportStats()
	require.Equal(t, inFlight, tr.HTTP2Requests)
	require.GreaterOrEqual(t, tr.MaxOpenMPConnections, inFlight/ga4test.DefaultMaxConcurrentStreams)
	require.LessOrEqual(t, tr.MPConnections, 16, "the client should share connections")
	waitTransport(t, emu, func(tr ga4test.TransportStats) bool { return tr.Connections == int(cc.dialled.Load()) })
	t.Logf("client dialled %d connections, %d requests reused one; emulator: %+v", cc.dialled.Load(), cc.reused.Load(), tr)
}

func TestMaxConcurrentStreams(t *testing.T) {
	t.Parallel()
	emu := startTLS(t, ga4test.Options{MaxConcurrentStreams: 1})
	both := make(chan struct{})
	var arrived atomic.Int64
	emu.HoldRequests(func() {
		if arrived.Add(1) == 2 {
			close(both)
		}
		<-both // two in flight at once need two connections
	})
	client := tlsClient(t, emu)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, tid := range []string{"A", "B"} {
		wg.Go(func() {
			_, err := postWith(t, client, emu.URL, tid, nil)
			errs <- err
		})
	}
	wg.Wait()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	tr := emu.TransportStats()
	require.Equal(t, []int{2, 2, 2}, []int{tr.HTTP2Requests, tr.MPConnections, tr.MaxOpenMPConnections})
}

func TestDropResetsTheStreamOverHTTP2(t *testing.T) {
	t.Parallel()
	s := startTLS(t, ga4test.Options{Faults: ga4test.Faults{NextDrop: 1}})
	client := tlsClient(t, s)
	_, err := postWith(t, client, s.URL, "A", nil)
	require.ErrorContains(t, err, "INTERNAL_ERROR", "RST_STREAM, not an answer")
	cc := &connCounter{}
	resp, err := postWith(t, client, s.URL, "A", cc)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	require.Equal(t, int64(1), cc.reused.Load(), "the connection outlives the reset stream")
	require.Equal(t, ga4test.Stats{Requests: 2, Accepted: 2, Duplicates: 1, FaultsDrop: 1}, s.Stats())
	require.Equal(t, 1, s.TransportStats().Connections)
	log := s.Requests()[0]
	require.Equal(t, []any{ga4test.FaultDrop, 0, "HTTP/2.0"}, []any{log.Fault, log.Status, log.Proto})
}

func TestGoAwayEndsTheConnection(t *testing.T) {
	t.Parallel()
	for name, http1Only := range map[string]bool{"HTTP2": false, "HTTP1": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startTLS(t, ga4test.Options{HTTP1Only: http1Only, Faults: ga4test.Faults{NextGoAway: 1}})
			client := tlsClient(t, s)
			resp, err := postWith(t, client, s.URL, "A", nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, resp.StatusCode, "the request itself is answered")
			waitTransport(t, s, func(tr ga4test.TransportStats) bool { return tr.OpenConnections == 0 })

			cc := &connCounter{}
			resp, err = postWith(t, client, s.URL, "B", cc)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
			require.Equal(t, []int64{1, 0}, []int64{cc.dialled.Load(), cc.reused.Load()}, "a new connection")
			require.Equal(t, ga4test.Stats{Requests: 2, Accepted: 2, FaultsGoAway: 1}, s.Stats())
			tr := s.TransportStats()
			require.Equal(t, []int{2, 2, 1}, []int{tr.Connections, tr.MPConnections, tr.MaxOpenMPConnections})
			require.Equal(t, ga4test.FaultGoAway, s.Requests()[0].Fault)
			require.Equal(t, http.StatusNoContent, s.Requests()[0].Status)
		})
	}
}

func TestTransportStatsOverHTTPAndReset(t *testing.T) {
	t.Parallel()
	s := startTLS(t, ga4test.Options{})
	client := tlsClient(t, s)
	_, err := postWith(t, client, s.URL, "A", nil)
	require.NoError(t, err)

	resp, err := client.Get(s.URL + "/emulator/stats")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st map[string]int
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	require.Equal(t, map[string]int{"requests": 1, "accepted_events": 1, "connections": 1, "open_connections": 1,
		"max_open_connections": 1, "mp_connections": 1, "max_open_mp_connections": 1, "http2_requests": 1},
		nonZero(st))

	s.Reset()
	require.Equal(t, ga4test.TransportStats{OpenConnections: 1, MaxOpenConnections: 1}, s.TransportStats(),
		"the open connection stays open, uncounted until it carries another request")
	_, err = postWith(t, client, s.URL, "B", nil)
	require.NoError(t, err)
	require.Equal(t, ga4test.TransportStats{OpenConnections: 1, MaxOpenConnections: 1,
		MPConnections: 1, MaxOpenMPConnections: 1, HTTP2Requests: 1}, s.TransportStats())
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}
