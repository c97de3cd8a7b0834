package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// sendRows returns n claimed-looking rows, each for its own client (one
// request per row).
func sendRows(n int, prefix string) []outbox.Row {
	rows := make([]outbox.Row, n)
	now := time.Now()
	for i := range rows {
		rows[i] = outbox.Row{ID: int64(i + 1), EventName: "purchase", TransactionID: fmt.Sprintf("%s-%d", prefix, i),
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
	results := make([][]outbox.Result, 2)
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
