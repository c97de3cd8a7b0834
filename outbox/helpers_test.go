package outbox_test

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
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// recorder is a Sender that records what it was given and answers with fn
// (Delivered when nil).
type recorder struct {
	mu    sync.Mutex
	rows  []outbox.Row
	calls int
	fn    func(r outbox.Row, call int) outbox.Result
	sent  chan outbox.Row // when not nil, every sent row is posted here
}

func (s *recorder) Send(ctx context.Context, rows []outbox.Row) []outbox.Result {
	s.mu.Lock()
	s.calls++
	call := s.calls
	s.rows = append(s.rows, rows...)
	s.mu.Unlock()
	out := make([]outbox.Result, len(rows))
	for i, r := range rows {
		out[i] = outbox.Delivered()
		if s.fn != nil {
			out[i] = s.fn(r, call)
		}
		if s.sent != nil {
			s.sent <- r
		}
	}
	return out
}

func (s *recorder) sentRows() []outbox.Row {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]outbox.Row(nil), s.rows...)
}

type bundle struct {
	pool   *pgxpool.Pool
	sender *recorder
	cfg    *outbox.Config
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return &bundle{
		pool:   pgtest.Pool(t),
		sender: &recorder{},
		cfg: &outbox.Config{
			BatchSize: 100, BackoffInitial: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		},
	}
}

func (b *bundle) poller(t *testing.T) *outbox.Poller {
	t.Helper()
	p, err := outbox.New(b.pool, b.sender, b.cfg)
	require.NoError(t, err)
	return p
}

func (b *bundle) drain(t *testing.T) outbox.Stats {
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
