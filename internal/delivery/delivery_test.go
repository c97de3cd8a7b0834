package delivery_test

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

const (
	mainProperty  = "G-MAIN1234"
	otherProperty = "G-OTHER5678"
	secret        = "main-secret-value"
	otherSecret   = "other-secret-value"
)

type bundle struct {
	pool *pgxpool.Pool
	emu  *ga4test.Server
	cfg  *poller.Config
	dcfg *delivery.Config
	url  string // GA endpoint; the emulator unless replaced
	// timeout bounds one request. Defaults to 5s.
	timeout time.Duration
	tls     *tls.Config // trusts the emulator over TLS; nil over plain HTTP
}

func setup(t *testing.T, faults ga4test.Faults) *bundle {
	t.Helper()
	return setupWith(t, faults, ga4test.Start)
}

// setupTLS is setup with the emulator over TLS and HTTP/2, as Google's
// endpoint.
func setupTLS(t *testing.T, faults ga4test.Faults) *bundle {
	t.Helper()
	b := setupWith(t, faults, ga4test.StartTLS)
	b.tls = &tls.Config{RootCAs: b.emu.CertPool()}
	return b
}

func setupWith(t *testing.T, faults ga4test.Faults, start func(ga4test.TB, *ga4test.Options) *ga4test.Server) *bundle {
	t.Helper()
	emu := start(t, &ga4test.Options{
		Secrets: map[string][]string{mainProperty: {secret}, otherProperty: {otherSecret}},
		Faults:  faults,
	})
	return &bundle{
		pool: pgtest.Pool(t),
		emu:  emu,
		url:  emu.URL,
		cfg: &poller.Config{BatchSize: 50, BackoffInitial: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))},
		dcfg: &delivery.Config{MeasurementID: mainProperty, Secret: func(id string) (string, bool) {
			switch id {
			case mainProperty:
				return secret, true
			case otherProperty:
				return otherSecret, true
			}
			return "", false
		}},
	}
}

func (b *bundle) poller(t *testing.T) *poller.Poller {
	t.Helper()
	client, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: b.url, Timeout: cmp.Or(b.timeout, 5*time.Second), TLSConfig: b.tls})
	require.NoError(t, err)
	sender, err := delivery.New(client, b.dcfg)
	require.NoError(t, err)
	p, err := poller.New(b.pool, sender, b.cfg)
	require.NoError(t, err)
	return p
}

func (b *bundle) drain(t *testing.T) poller.Stats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := b.poller(t).Drain(ctx, nil)
	require.NoError(t, err)
	return stats
}

func (b *bundle) enqueue(t *testing.T, c outbox.Conversion) int64 {
	t.Helper()
	res, err := outbox.Enqueue(context.Background(), b.pool, c)
	require.NoError(t, err)
	return res.ID
}

type rowState struct {
	Status, Reason, LastError string
	Attempts                  int
}

func (b *bundle) state(t *testing.T, id int64) rowState {
	t.Helper()
	var s rowState
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT status, COALESCE(reason, ''), COALESCE(last_error, ''), attempts
		FROM ga4_outbox.events WHERE id = $1`, id).Scan(&s.Status, &s.Reason, &s.LastError, &s.Attempts))
	return s
}

var sessionStart = time.Now().Add(-20 * time.Minute).Truncate(time.Second)

func conversion(txID string) outbox.Conversion {
	return outbox.Conversion{
		EventName: "purchase", TransactionID: txID, Value: "49.90", Currency: "EUR",
		Items:    []outbox.Item{{ItemID: "SKU-1", ItemName: "Mug", Price: "24.95", Quantity: 2}},
		ClientID: "GA1.1.1197596843.1673515099", SessionID: fmt.Sprint(sessionStart.Unix()),
		AnalyticsStorage: outbox.ConsentGranted, AdUserData: outbox.ConsentGranted, AdPersonalization: outbox.ConsentDenied,
		SessionEventAt: sessionStart.Add(5*time.Minute + 123456*time.Microsecond),
		OccurredAt:     sessionStart.Add(9 * time.Minute),
		Source:         "test",
	}
}

func TestEndToEndExactPayload(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{})
	id := b.enqueue(t, conversion("T-e2e"))
	b.drain(t)

	require.Equal(t, rowState{outbox.StatusDelivered, "", "", 1}, b.state(t, id))
	events := b.emu.Accepted()
	require.Len(t, events, 1)
	ev := events[0]
	require.Equal(t, mainProperty, ev.MeasurementID)
	require.Equal(t, "1197596843.1673515099", ev.ClientID, "the _ga cookie is normalised")
	require.Equal(t, "purchase", ev.Name)
	require.Equal(t, sessionStart.Add(5*time.Minute+123456*time.Microsecond).UnixMicro(), ev.TimestampMicros,
		"timestamp_micros is the in-session time, not the business time")
	require.Equal(t, &ga4.Consent{AdUserData: "GRANTED", AdPersonalization: "DENIED"}, ev.Consent)
	require.Empty(t, ev.Problems)
	params, err := json.Marshal(ev.Params)
	require.NoError(t, err)
	require.JSONEq(t, fmt.Sprintf(`{"transaction_id":"T-e2e","value":49.90,"currency":"EUR",
		"items":[{"item_id":"SKU-1","item_name":"Mug","price":24.95,"quantity":2}],
		"session_id":%d,"engagement_time_msec":%d}`, sessionStart.Unix(), ga4.DefaultEngagementTimeMsec), string(params))
	var delivered *time.Time
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT delivered_at FROM ga4_outbox.events WHERE id = $1`, id).Scan(&delivered))
	require.NotNil(t, delivered)
}

// Run mode: a conversion committed with an order is delivered right after
// the commit, woken by NOTIFY (the cron safety net is an hour away).
func TestRunDeliversAfterCommit(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{})
	b.cfg.Schedule = "@every 1h"
	p := b.poller(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	require.NoError(t, pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
		_, err := outbox.Enqueue(ctx, tx, conversion("T-run"))
		return err
	}))
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	events, err := b.emu.WaitAccepted(wctx, 1)
	require.NoError(t, err)
	require.Equal(t, "T-run", events[0].TransactionID)
}

func TestConsentDeniedNeverReachesGA(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{})
	c := conversion("T-denied")
	c.AnalyticsStorage = outbox.ConsentDenied
	id := b.enqueue(t, c)
	b.drain(t)
	require.Equal(t, outbox.ReasonConsentDenied, b.state(t, id).Reason)
	require.Zero(t, b.emu.Stats().Requests)
}

func TestServerErrorThenSuccess(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{Next5xx: 1})
	id := b.enqueue(t, conversion("T-5xx"))
	stats := b.drain(t)
	st := b.state(t, id)
	require.Equal(t, outbox.StatusDelivered, st.Status)
	require.Equal(t, 2, st.Attempts)
	require.Contains(t, st.LastError, "HTTP 500", "the last error is kept after delivery")
	require.EqualValues(t, 1, stats.Retried)
	require.Equal(t, 1, b.emu.Stats().Accepted)
}

func TestTooManyRequestsHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{Next429: 1, RetryAfter: time.Second})
	id := b.enqueue(t, conversion("T-429"))
	b.drain(t)
	require.Equal(t, outbox.StatusDelivered, b.state(t, id).Status)
	reqs := b.emu.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, http.StatusTooManyRequests, reqs[0].Status)
	require.GreaterOrEqual(t, reqs[1].ReceivedAt.Sub(reqs[0].ReceivedAt), time.Second,
		"the retry waited for Retry-After, not the 10ms backoff")
}

func TestPermanentClientErrorFails(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{})
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		http.Error(w, "bad request", http.StatusBadRequest)
	}))
	t.Cleanup(srv.Close)
	b.url = srv.URL
	id := b.enqueue(t, conversion("T-400"))
	b.drain(t)
	st := b.state(t, id)
	require.Equal(t, outbox.StatusFailed, st.Status)
	require.Equal(t, outbox.ReasonRejected, st.Reason)
	require.Contains(t, st.LastError, "HTTP 400")
	require.NotContains(t, st.LastError, secret)
	require.Equal(t, 1, hits, "a permanent error is not retried")
}

func TestMaxAttemptsFails(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{Share5xx: 1})
	b.cfg.MaxAttempts = 3
	id := b.enqueue(t, conversion("T-max"))
	b.drain(t)
	st := b.state(t, id)
	require.Equal(t, outbox.StatusFailed, st.Status)
	require.Equal(t, outbox.ReasonMaxAttempts, st.Reason)
	require.Contains(t, st.LastError, "HTTP 500")
	require.Equal(t, 3, b.emu.Stats().Requests)
}

func TestDroppedConnectionIsRetried(t *testing.T) {
	t.Parallel()

	t.Run("QuickRetryInTheSameAttempt", func(t *testing.T) {
		t.Parallel()
		b := setup(t, ga4test.Faults{NextDrop: 1})
		id := b.enqueue(t, conversion("T-drop"))
		stats := b.drain(t)
		require.Equal(t, rowState{outbox.StatusDelivered, "", "", 1}, b.state(t, id))
		require.Zero(t, stats.Retried)
		st := b.emu.Stats()
		require.Equal(t, 1, st.FaultsDrop)
		require.Equal(t, 1, st.Duplicates, "the dropped request had been read: GA dedups the purchase by transaction_id")
	})

	t.Run("BackToTheOutboxWhenQuickRetryFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t, ga4test.Faults{NextDrop: 3})
		id := b.enqueue(t, conversion("T-drop-2"))
		stats := b.drain(t)
		st := b.state(t, id)
		require.Equal(t, outbox.StatusDelivered, st.Status)
		require.Equal(t, 2, st.Attempts)
		require.NotEmpty(t, st.LastError)
		require.EqualValues(t, 1, stats.Retried)
		require.Equal(t, 3, b.emu.Stats().FaultsDrop, "sent, then resent twice at once")
	})
}

func TestRoutingByMeasurementID(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{})
	other := conversion("T-other")
	other.MeasurementID = otherProperty
	unknown := conversion("T-unknown")
	unknown.MeasurementID = "G-NOTCONFIG1"
	mainID, otherID, unknownID := b.enqueue(t, conversion("T-main")), b.enqueue(t, other), b.enqueue(t, unknown)
	b.drain(t)
	require.Equal(t, outbox.StatusDelivered, b.state(t, mainID).Status)
	require.Equal(t, outbox.StatusDelivered, b.state(t, otherID).Status)
	require.Equal(t, rowState{outbox.StatusSkipped, outbox.ReasonUnknownProperty, "measurement_id G-NOTCONFIG1 is not configured", 1}, b.state(t, unknownID))
	got := map[string]string{}
	for _, e := range b.emu.Accepted() {
		got[e.TransactionID] = e.MeasurementID
	}
	require.Equal(t, map[string]string{"T-main": mainProperty, "T-other": otherProperty}, got,
		"an unknown property is never sent to the default one; each property gets its own secret (no drops)")
	require.Zero(t, b.emu.Stats().Dropped)
}

// Bad rows written raw by other languages, mixed with good ones in one
// batch: the good rows are delivered, each bad row gets its reason.
func TestMixedBadRows(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{})
	ctx := context.Background()
	now := time.Now()
	session := fmt.Sprint(now.Add(-10 * time.Minute).Unix())
	rows := []struct {
		tx, name, client, consent, params string
		at                                time.Time
		reason                            string // "" = delivered
	}{
		{"T-good-1", "purchase", "111.222", "granted", `{}`, now, ""},
		{"T-reserved", "session_start", "111.222", "granted", `{}`, now, outbox.ReasonInvalid},
		{"T-uuid", "purchase", "6f1c1c9e-6d0e-4b8e-9b1e-0d3a6c3f1e2a", "granted", `{}`, now, outbox.ReasonInvalid},
		{"T-denied", "purchase", "111.222", "denied", `{}`, now, outbox.ReasonConsentDenied},
		{"T-old", "purchase", "111.222", "granted", `{}`, now.Add(-80 * time.Hour), outbox.ReasonExpired},
		{"T-noclient", "purchase", "", "granted", `{}`, now, outbox.ReasonMissingClientID},
		{"T-badparam", "purchase", "111.222", "granted", `{"_private": 1}`, now, outbox.ReasonInvalid},
		{"T-good-2", "purchase", "333.444", "granted", `{"coupon": "X"}`, now, ""},
	}
	ids := map[string]int64{}
	for _, r := range rows {
		var id int64
		require.NoError(t, b.pool.QueryRow(ctx, `INSERT INTO ga4_outbox.events
			(event_name, transaction_id, value, currency, params, client_id, session_id, consent_analytics_storage, occurred_at)
			VALUES ($1, $2, 10, 'EUR', $3, NULLIF($4, ''), $5, $6, $7) RETURNING id`,
			r.name, r.tx, r.params, r.client, session, r.consent, r.at).Scan(&id))
		ids[r.tx] = id
	}
	b.drain(t)
	for _, r := range rows {
		st := b.state(t, ids[r.tx])
		if r.reason == "" {
			require.Equal(t, outbox.StatusDelivered, st.Status, r.tx)
			continue
		}
		require.Equal(t, r.reason, st.Reason, r.tx)
		require.NotEmpty(t, st.LastError, r.tx)
		if r.reason == outbox.ReasonInvalid {
			require.Equal(t, outbox.StatusSkipped, st.Status, r.tx)
			require.True(t, strings.Contains(st.LastError, "NAME_") || strings.Contains(st.LastError, "VALUE_"),
				"%s: validation codes kept in last_error: %s", r.tx, st.LastError)
		}
	}
	var sent []string
	for _, e := range b.emu.Accepted() {
		sent = append(sent, e.TransactionID)
	}
	require.ElementsMatch(t, []string{"T-good-1", "T-good-2"}, sent)
}

func TestClassify(t *testing.T) {
	t.Parallel()
	require.Equal(t, poller.Delivered(), delivery.Classify(nil))
	retry := delivery.Classify(&ga4.SendError{Retryable: true, StatusCode: 429, RetryAfter: 3 * time.Second, Err: fmt.Errorf("slow down")})
	require.Equal(t, outbox.StatusPending, retry.Status)
	require.Equal(t, 3*time.Second, retry.RetryAfter)
	fail := delivery.Classify(fmt.Errorf("wrapped: %w", &ga4.SendError{StatusCode: 403}))
	require.Equal(t, outbox.StatusFailed, fail.Status)
	require.Equal(t, outbox.ReasonRejected, fail.Reason)
	require.Equal(t, outbox.StatusPending, delivery.Classify(fmt.Errorf("unknown")).Status)
}

// tlog writes log lines to the test log.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) { w.t.Log(strings.TrimSpace(string(p))); return len(p), nil }

// A slow endpoint and a short lease: the batch takes several leases to
// send, yet every row is sent exactly once and all are delivered (the
// poller extends the lease; no request starts that could outlive it).
func TestSlowEndpointShortLeaseSendsEachRowOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, ga4test.Faults{Latency: 100 * time.Millisecond})
	// Three batches of 20 one-row requests of 100 ms, 2 in flight at a time
	// (3 s): the third claim comes while the second batch is still being
	// sent, long after its lease as first granted.
	b.cfg.Lease, b.cfg.BatchSize, b.cfg.InFlightBatches = 700*time.Millisecond, 20, 2
	b.dcfg.Concurrency = 2
	b.timeout = 300 * time.Millisecond
	for i := range 60 {
		c := conversion(fmt.Sprintf("T-slow-%d", i))
		c.ClientID = fmt.Sprintf("%d.1673515099", 1000+i)
		b.enqueue(t, c)
	}
	stats := b.drain(t)
	require.Equal(t, int64(60), stats.Delivered)
	st := b.emu.Stats()
	require.Equal(t, 60, st.Accepted)
	require.Zero(t, st.Duplicates)
}

// Over HTTP/2 a reset stream and a GOAWAY lose nothing: the reset request
// is sent again at once (a duplicate GA absorbs, as the endpoint had read
// it), and requests after a GOAWAY go out on a new connection.
func TestHTTP2FaultsLoseNothing(t *testing.T) {
	t.Parallel()
	enqueueMany := func(t *testing.T, b *bundle, prefix string, n int) {
		for i := range n {
			c := conversion(fmt.Sprintf("%s-%d", prefix, i))
			c.ClientID = fmt.Sprintf("%d.1673515099", 2000+i)
			b.enqueue(t, c)
		}
	}

	t.Run("ResetStream", func(t *testing.T) {
		t.Parallel()
		b := setupTLS(t, ga4test.Faults{NextDrop: 2})
		enqueueMany(t, b, "T-rst", 10)
		stats := b.drain(t)
		require.Equal(t, int64(10), stats.Delivered)
		st := b.emu.Stats()
		require.Equal(t, 2, st.FaultsDrop)
		require.Equal(t, 10, st.Accepted-st.Duplicates)
		require.Equal(t, 12, b.emu.TransportStats().HTTP2Requests)
	})

	t.Run("GoAway", func(t *testing.T) {
		t.Parallel()
		b := setupTLS(t, ga4test.Faults{NextGoAway: 3})
		b.dcfg.Concurrency = 1 // one request after another: each after a GOAWAY needs a new connection
		enqueueMany(t, b, "T-goaway", 10)
		stats := b.drain(t)
		require.Equal(t, int64(10), stats.Delivered)
		require.Zero(t, stats.Retried+stats.Failed)
		st := b.emu.Stats()
		require.Equal(t, 10, st.Accepted)
		require.Zero(t, st.Duplicates)
		require.Equal(t, 4, b.emu.TransportStats().MPConnections, "each GOAWAY ends its connection")
	})
}
