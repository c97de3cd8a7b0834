package delivery_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// sendRows returns n claimed-looking rows, each for its own client (one
// request per row).
func sendRows(n int, prefix string) []poller.Row {
	rows := make([]poller.Row, n)
	now := time.Now()
	for i := range rows {
		rows[i] = poller.Row{ID: int64(i + 1), EventName: "purchase", TransactionID: fmt.Sprintf("%s-%d", prefix, i),
			Value: "9.90", Currency: "EUR", Params: json.RawMessage(`{}`), ClientID: fmt.Sprintf("%d.1700000000", 1000+i),
			SessionID: fmt.Sprint(now.Add(-time.Minute).Unix()), AnalyticsStorage: outbox.ConsentGranted,
			SessionEventAt: now, OccurredAt: now, CreatedAt: now, Attempt: 1}
	}
	return rows
}

func newSender(t *testing.T, url string, concurrency int) *delivery.Sender {
	t.Helper()
	client, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: url, Timeout: 10 * time.Second})
	require.NoError(t, err)
	s, err := delivery.New(client, &delivery.Config{MeasurementID: mainProperty, Concurrency: concurrency,
		Secret: func(string) (string, bool) { return secret, true }})
	require.NoError(t, err)
	return s
}

// Concurrency caps the requests in flight across concurrent Send calls:
// the server holds every request until the test lets one go, so a Sender
// that exceeded the cap would show more than three held at once.
func TestSendCapsRequestsInFlight(t *testing.T) {
	t.Parallel()
	const limit, perCall = 3, 12
	var inFlight, peak atomic.Int64
	arrived := make(chan struct{}, 2*perCall)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		arrived <- struct{}{}
		<-release
		inFlight.Add(-1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := newSender(t, srv.URL, limit)

	var wg sync.WaitGroup
	results := make([][]poller.Result, 2)
	for c := range results {
		wg.Go(func() { results[c] = s.Send(context.Background(), sendRows(perCall, fmt.Sprint("call", c))) })
	}
	for range limit {
		<-arrived
	}
	for range 2*perCall - limit { // let one go, wait for the next to take its slot
		release <- struct{}{}
		<-arrived
	}
	for range limit {
		release <- struct{}{}
	}
	wg.Wait()
	require.LessOrEqual(t, peak.Load(), int64(limit))
	require.Equal(t, int64(limit), peak.Load(), "the cap was never reached")
	for _, rs := range results {
		require.Len(t, rs, perCall)
		for _, r := range rs {
			require.Equal(t, outbox.StatusDelivered, r.Status)
		}
	}
}

// A cancelled Send sends nothing new and hands every row back for a retry.
func TestSendCancelledRetriesEveryRow(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	results := newSender(t, srv.URL, 4).Send(ctx, sendRows(20, "cancelled"))
	require.Len(t, results, 20)
	for _, r := range results {
		require.Equal(t, outbox.StatusPending, r.Status)
		require.NotEmpty(t, r.Error)
	}
	require.Zero(t, hits.Load())
}

// FromConfig, what the run and drain commands use, sends HTTP/1.1 to an
// http:// endpoint (the emulator's), with ga4-outbox's User-Agent.
func TestFromConfigSendsHTTP1ToPlainEndpoints(t *testing.T) {
	t.Parallel()
	agents := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		agents <- r.Proto + " " + r.UserAgent()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	cfg, err := config.Parse(nil, func(k string) string {
		return map[string]string{"GA4_MEASUREMENT_ID": mainProperty, "GA4_API_SECRET": secret, "GA4_ENDPOINT": srv.URL}[k]
	})
	require.NoError(t, err)
	s, err := delivery.FromConfig(cfg, nil, nil)
	require.NoError(t, err)
	res := s.Send(context.Background(), sendRows(1, "FC"))
	require.Equal(t, outbox.StatusDelivered, res[0].Status, res[0].Error)
	require.Equal(t, "HTTP/1.1 ga4-outbox", <-agents)
}

// A Send whose lease leaves less than a request's timeout starts nothing:
// its rows come back unsent, due again at once.
func TestSendStartsNoRequestPastTheLease(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := newSender(t, srv.URL, 4) // 10 s timeout
	ctx := poller.WithLease(context.Background(), time.Now().Add(5*time.Second))
	results := s.Send(ctx, sendRows(3, "late"))
	for _, r := range results {
		require.True(t, r.Unsent, r.Error)
		require.Equal(t, outbox.StatusPending, r.Status)
		require.Contains(t, r.Error, "lease would end")
	}
	require.Zero(t, hits.Load())

	ctx = poller.WithLease(context.Background(), time.Now().Add(time.Minute))
	for _, r := range s.Send(ctx, sendRows(3, "in-time")) {
		require.Equal(t, outbox.StatusDelivered, r.Status, r.Error)
	}
	require.Equal(t, int64(3), hits.Load())
}

// The limit grows while the endpoint answers at a steady latency and the
// requests fill it, and shrinks when the endpoint answers 503.
func TestSendLimitFollowsTheEndpoint(t *testing.T) {
	t.Parallel()
	var status atomic.Int64
	status.Store(http.StatusNoContent)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	client, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: srv.URL, MaxConnsPerHost: 256})
	require.NoError(t, err)
	s, err := delivery.New(client, &delivery.Config{MeasurementID: mainProperty, InitialConcurrency: 8, Concurrency: 256,
		Secret: func(string) (string, bool) { return secret, true }})
	require.NoError(t, err)
	for range 5 {
		s.Send(context.Background(), sendRows(200, "grow"))
	}
	grown := s.Limit()
	require.Greater(t, grown, 8)
	status.Store(http.StatusServiceUnavailable)
	for range 3 {
		for _, r := range s.Send(context.Background(), sendRows(200, "shrink")) {
			require.Equal(t, outbox.StatusPending, r.Status)
			require.False(t, r.Unsent)
		}
	}
	require.Less(t, s.Limit(), grown)
}

// An https endpoint that speaks HTTP/1.1 only still gets every row, and
// the operator is told once why requests in flight are few.
func TestSendWarnsOnceAboutHTTP1OverTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})) // no EnableHTTP2: HTTP/1.1 only
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	client, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: srv.URL, TLSConfig: &tls.Config{RootCAs: roots}})
	require.NoError(t, err)
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	s, err := delivery.New(client, &delivery.Config{MeasurementID: mainProperty, Logger: logger,
		Secret: func(string) (string, bool) { return secret, true }})
	require.NoError(t, err)
	for _, r := range s.Send(context.Background(), sendRows(10, "h1")) {
		require.Equal(t, outbox.StatusDelivered, r.Status, r.Error)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, strings.Count(logs.String(), "answers over HTTP/1.1 only"), logs.String())
}

// A TLS handshake that fails (a certificate the sidecar does not trust)
// sends nothing and keeps every row for a retry with backoff, with an
// error that says why and carries no secret.
func TestSendTLSHandshakeFailureRetries(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := newSender(t, srv.URL, 4) // the system roots do not know the test certificate
	for _, r := range s.Send(context.Background(), sendRows(3, "tls")) {
		require.Equal(t, outbox.StatusPending, r.Status)
		require.False(t, r.Unsent)
		require.Contains(t, r.Error, "certificate")
		require.NotContains(t, r.Error, secret)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// ga4.cleartext_http2 speaks HTTP/2 without TLS to an endpoint that
// accepts it, as the emulator does.
func TestFromConfigCleartextHTTP2(t *testing.T) {
	t.Parallel()
	emu := ga4test.Start(t, nil)
	cfg, err := config.Parse([]byte("ga4:\n  cleartext_http2: true\n"), func(k string) string {
		return map[string]string{"GA4_MEASUREMENT_ID": mainProperty, "GA4_API_SECRET": secret, "GA4_ENDPOINT": emu.URL}[k]
	})
	require.NoError(t, err)
	s, err := delivery.FromConfig(cfg, nil, nil)
	require.NoError(t, err)
	res := s.Send(context.Background(), sendRows(3, "h2c"))
	for _, r := range res {
		require.Equal(t, outbox.StatusDelivered, r.Status, r.Error)
	}
	require.Equal(t, 3, emu.TransportStats().HTTP2Requests)
}
