package poller_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// recorder is a Sender that records what it was given and answers with fn
// (Delivered when nil).
type recorder struct {
	mu    sync.Mutex
	rows  []poller.Row
	calls int
	fn    func(r poller.Row, call int) poller.Result
	sent  chan poller.Row // when not nil, every sent row is posted here
}

func (s *recorder) Send(ctx context.Context, rows []poller.Row) []poller.Result {
	s.mu.Lock()
	s.calls++
	call := s.calls
	s.rows = append(s.rows, rows...)
	s.mu.Unlock()
	out := make([]poller.Result, len(rows))
	for i, r := range rows {
		out[i] = poller.Delivered()
		if s.fn != nil {
			out[i] = s.fn(r, call)
		}
		if s.sent != nil {
			s.sent <- r
		}
	}
	return out
}

// senderFunc adapts a function to poller.Sender.
type senderFunc func(ctx context.Context, rows []poller.Row) []poller.Result

func (f senderFunc) Send(ctx context.Context, rows []poller.Row) []poller.Result { return f(ctx, rows) }

var _ poller.Sender = senderFunc(nil)

func (s *recorder) sentRows() []poller.Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]poller.Row(nil), s.rows...)
}

type bundle struct {
	pool   *pgxpool.Pool
	sender *recorder
	cfg    *poller.Config
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return &bundle{
		pool:   pgtest.Pool(t),
		sender: &recorder{},
		cfg: &poller.Config{
			BatchSize: 100, BackoffInitial: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
	}
}

func (b *bundle) poller(t *testing.T) *poller.Poller {
	t.Helper()
	p, err := poller.New(b.pool, b.sender, b.cfg)
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

// fill inserts n sendable purchases T-1..T-n in one statement.
func (b *bundle) fill(t *testing.T, n int) {
	t.Helper()
	_, err := b.pool.Exec(context.Background(), `
		INSERT INTO ga4_outbox.events (transaction_id, value, currency, client_id, session_id, consent_analytics_storage)
		SELECT 'T-' || i, 10, 'EUR', i || '.1700000000', extract(epoch FROM now())::bigint::text, 'granted'
		  FROM generate_series(1, $1) AS i`, n)
	require.NoError(t, err)
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

func (b *bundle) countStatus(t *testing.T, status string) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM ga4_outbox.events WHERE status = $1`, status).Scan(&n))
	return n
}

func conversion(txID string) outbox.Conversion {
	now := time.Now()
	return outbox.Conversion{
		EventName: "purchase", TransactionID: txID, Value: "10.00", Currency: "EUR",
		ClientID: "111.222", SessionID: fmt.Sprint(now.Add(-10 * time.Minute).Unix()),
		AnalyticsStorage: outbox.ConsentGranted, SessionEventAt: now.Add(-time.Minute),
	}
}

// tlog writes log lines to the test log.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func itoa(n int64) string { return fmt.Sprint(n) }

// opsFixture holds one row in each state the operator functions (Status,
// Requeue) tell apart, keyed by transaction id, with times relative to now:
//
//	p1 pending, due (created 2h ago)     p2 pending, backing off after an HTTP 503
//	p3 pending, leased to a worker       d1 delivered (after an error)
//	f1 failed/rejected (occurred 1h ago) f2 failed/max_attempts (occurred 3 days ago)
//	s1 skipped/invalid                   s2 skipped/consent_denied
type opsFixture struct {
	now time.Time
	ids map[string]int64
}

func newOpsFixture(t *testing.T, db outbox.DB) *opsFixture {
	t.Helper()
	ctx := context.Background()
	f := &opsFixture{now: time.Now().UTC().Truncate(time.Second), ids: map[string]int64{}}
	for _, tx := range []string{"p1", "p2", "p3", "d1", "f1", "f2", "s1", "s2"} {
		occurred := f.now.Add(-time.Hour)
		if tx == "f2" {
			occurred = f.now.Add(-72 * time.Hour)
		}
		res, err := outbox.Enqueue(ctx, db, outbox.Conversion{EventName: "purchase", TransactionID: tx,
			Value: "10.00", Currency: "EUR", ClientID: "1.2", OccurredAt: occurred, Source: "test"})
		require.NoError(t, err)
		f.ids[tx] = res.ID
	}
	at := func(m int) time.Time { return f.now.Add(time.Duration(m) * time.Minute) }
	for tx, set := range map[string]struct {
		status, reason, lastError string
		attempts                  int
		next, created, updated    time.Time
		leased                    bool
	}{
		"p1": {"pending", "", "", 0, at(-1), at(-120), at(-120), false},
		"p2": {"pending", "", "HTTP 503 from /mp/collect", 2, at(5), at(-60), at(-4), false},
		"p3": {"pending", "", "", 1, at(1), at(-30), at(-1), true},
		"d1": {"delivered", "", "HTTP 503 before it went through", 2, at(-5), at(-60), at(0), false},
		"f1": {"failed", "rejected", "HTTP 400: bad request", 1, at(-5), at(-60), at(-1), false},
		"f2": {"failed", "max_attempts", "dial tcp: connection refused", 12, at(-5), at(-60), at(-2), false},
		"s1": {"skipped", "invalid", "VALUE_INVALID events[0].params.currency", 0, at(-5), at(-60), at(-3), false},
		"s2": {"skipped", "consent_denied", "", 0, at(-5), at(-60), at(-5), false},
	} {
		_, err := db.Exec(ctx, `
			UPDATE ga4_outbox.events
			   SET status = $2, reason = NULLIF($3, ''), last_error = NULLIF($4, ''), attempts = $5,
			       next_attempt_at = $6, created_at = $7, updated_at = $8,
			       lease_owner = CASE WHEN $9 THEN 'worker-1' END, lease_token = CASE WHEN $9 THEN gen_random_uuid() END,
			       delivered_at = CASE WHEN $2 = 'delivered' THEN $8::timestamptz END,
			       retry_at = CASE WHEN $2 = 'pending' AND NOT $9 AND $5 > 0 THEN $6::timestamptz END
			 WHERE id = $1`,
			f.ids[tx], set.status, set.reason, set.lastError, set.attempts, set.next, set.created, set.updated, set.leased)
		require.NoError(t, err)
	}
	return f
}

// opsState is a row's status/reason/attempts/last_error/leased.
func opsState(t *testing.T, db outbox.DB, id int64) string {
	t.Helper()
	var s string
	require.NoError(t, db.QueryRow(context.Background(), `
		SELECT status || '/' || COALESCE(reason, '') || '/' || attempts || '/' || COALESCE(last_error, '') || '/' || (lease_token IS NOT NULL)
		  FROM ga4_outbox.events WHERE id = $1`, id).Scan(&s))
	return s
}

// sentTxIDs lists the transaction ids of the sent rows, in send order.
func (s *recorder) sentTxIDs() []string {
	var ids []string
	for _, r := range s.sentRows() {
		ids = append(ids, r.TransactionID)
	}
	return ids
}

// sessionConversion is conversion(txID) in a session that started before
// ago (without a session id when before is 0).
func sessionConversion(txID string, now time.Time, before time.Duration) outbox.Conversion {
	c := conversion(txID)
	c.SessionID = ""
	if before > 0 {
		c.SessionID = itoa(now.Add(-before).Unix())
	}
	return c
}
