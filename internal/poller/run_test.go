package poller_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// startRun runs p until the test ends and fails the test if Run errs.
func startRun(t *testing.T, p *poller.Poller) (cancel func()) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once atomic.Bool
	cancel = func() {
		if once.CompareAndSwap(false, true) {
			stop()
			require.NoError(t, <-done)
		}
	}
	t.Cleanup(cancel)
	return cancel
}

func receive(t *testing.T, ch <-chan poller.Row, txID string) {
	t.Helper()
	select {
	case r := <-ch:
		require.Equal(t, txID, r.TransactionID)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s was not sent", txID)
	}
}

// listenerPID waits for a LISTEN connection other than old and returns its pid.
func listenerPID(t *testing.T, pool *pgxpool.Pool, old int32) int32 {
	t.Helper()
	return waitPID(t, pool, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'ga4-outbox-listen'
		  AND query LIKE 'LISTEN%' AND pid <> $1`, old)
}

// waitPID waits until query, given old, returns a pid and returns it.
func waitPID(t *testing.T, pool *pgxpool.Pool, query string, old int32) int32 {
	t.Helper()
	var pid int32
	require.Eventually(t, func() bool {
		return pool.QueryRow(context.Background(), query, old).Scan(&pid) == nil
	}, 20*time.Second, 10*time.Millisecond)
	return pid
}

func TestListenReconnectsAfterTermination(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.Schedule = "@every 1h" // only NOTIFY can wake the poller in time
	b.sender.sent = make(chan poller.Row, 10)
	startRun(t, b.poller(t))

	pid := listenerPID(t, b.pool, 0)
	b.enqueue(t, conversion("T-before"))
	receive(t, b.sender.sent, "T-before")

	var killed bool
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT pg_terminate_backend($1)`, pid).Scan(&killed))
	require.True(t, killed)
	listenerPID(t, b.pool, pid)
	b.enqueue(t, conversion("T-after"))
	receive(t, b.sender.sent, "T-after")
	b.enqueue(t, conversion("T-after-2")) // after the reconnect wake-up: NOTIFY only
	receive(t, b.sender.sent, "T-after-2")
}

// TestNotifyGate: with the Schedule out of reach, idle pollers are woken
// only through the notify gate (migration 000004): one poller and two
// (one arms, the other waits on the same notifications), every row one at
// a time; and a row committed while another enqueueing transaction stays
// open (no poller can arm, so none is notified) is still delivered before
// that transaction ends.
func TestNotifyGate(t *testing.T) {
	t.Parallel()
	for _, pollers := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d pollers", pollers), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.cfg.Schedule = "@every 1h"
			b.sender.sent = make(chan poller.Row, 10)
			for range pollers {
				startRun(t, b.poller(t))
			}
			for i := range 10 {
				tx := fmt.Sprintf("T-%d", i)
				b.enqueue(t, conversion(tx))
				receive(t, b.sender.sent, tx)
			}
			ctx := context.Background()
			open, err := b.pool.Begin(ctx)
			require.NoError(t, err)
			defer open.Rollback(ctx)
			_, err = outbox.Enqueue(ctx, open, conversion("T-open"))
			require.NoError(t, err)
			b.enqueue(t, conversion("T-while-open"))
			receive(t, b.sender.sent, "T-while-open")
			require.NoError(t, open.Commit(ctx))
			receive(t, b.sender.sent, "T-open")
		})
	}
}

// TestNotifyGateSessionEndsWhileArmed: the armed gate's session is
// terminated (the advisory lock goes with it, so enqueues stop notifying),
// five times. With the Schedule out of reach the poller must notice by
// itself, arm again on a new connection and be woken by the next enqueue.
func TestNotifyGateSessionEndsWhileArmed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.Schedule = "@every 1h"
	b.sender.sent = make(chan poller.Row, 10)
	startRun(t, b.poller(t))

	pid := gatePID(t, b.pool, 0)
	for i := range 5 { // the session may end while armed or just as the poller re-arms
		var killed bool
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT pg_terminate_backend($1)`, pid).Scan(&killed))
		require.True(t, killed)
		pid = gatePID(t, b.pool, pid)
		tx := fmt.Sprintf("T-after-%d", i)
		b.enqueue(t, conversion(tx))
		receive(t, b.sender.sent, tx)
	}
}

// TestNotifyGateHolderGoes: another session holds the gate (a poller that
// is then killed while armed); this poller waits on its notifications, and
// once that session is gone, nothing notifies until some poller arms
// again. With the Schedule out of reach, the waiting poller must arm by
// itself and deliver the next row.
func TestNotifyGateHolderGoes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.Schedule = "@every 1h"
	b.sender.sent = make(chan poller.Row, 10)
	ctx := context.Background()
	holder, err := pgx.ConnectConfig(ctx, b.pool.Config().ConnConfig)
	require.NoError(t, err)
	defer holder.Close(ctx)
	_, err = holder.Exec(ctx, `SELECT pg_advisory_lock(1734423663, 1)`)
	require.NoError(t, err)
	startRun(t, b.poller(t))

	id := b.enqueue(t, conversion("T-held")) // notifies: the gate is held
	receive(t, b.sender.sent, "T-held")
	// After marking the row the poller tries to arm and finds the holder:
	// wait for that attempt (its gate session ran a statement since).
	var marked time.Time
	require.Eventually(t, func() bool {
		return b.pool.QueryRow(ctx, `SELECT updated_at FROM ga4_outbox.events WHERE id = $1 AND status = 'delivered'`,
			id).Scan(&marked) == nil
	}, 20*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool {
		var tried bool
		err := b.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
			AND application_name = 'ga4-outbox-gate' AND state = 'idle' AND state_change > $1)`, marked).Scan(&tried)
		return err == nil && tried
	}, 20*time.Second, 5*time.Millisecond)

	require.NoError(t, holder.Close(ctx)) // the holder's session ends: nothing notifies now
	b.enqueue(t, conversion("T-gone"))
	receive(t, b.sender.sent, "T-gone")
	gatePID(t, b.pool, 0)
}

// gatePID waits until a session other than old holds the notify gate's
// lock in exclusive mode (an idle poller armed it) and returns its pid.
func gatePID(t *testing.T, pool *pgxpool.Pool, old int32) int32 {
	t.Helper()
	return waitPID(t, pool, `SELECT l.pid FROM pg_locks l
		JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.classid = 1734423663 AND l.objid = 1
		  AND l.mode = 'ExclusiveLock' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND a.application_name = 'ga4-outbox-gate' AND l.pid <> $1`, old)
}

// blockingSender signals each send and blocks until released or cancelled.
type blockingSender struct {
	started chan struct{}
	release chan struct{}
}

func (s *blockingSender) Send(ctx context.Context, rows []poller.Row) []poller.Result {
	s.started <- struct{}{}
	res := poller.Delivered()
	select {
	case <-s.release:
	case <-ctx.Done():
		res = poller.Retry(ctx.Err(), 0)
	}
	out := make([]poller.Result, len(rows))
	for i := range out {
		out[i] = res
	}
	return out
}

func TestShutdown(t *testing.T) {
	t.Parallel()

	t.Run("InFlightSendFinishesWithinGrace", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.enqueue(t, conversion("T-grace"))
		s := &blockingSender{started: make(chan struct{}, 1), release: make(chan struct{})}
		b.cfg.ShutdownGrace = time.Minute
		p, err := poller.New(b.pool, s, b.cfg)
		require.NoError(t, err)
		cancel := startRun(t, p)
		<-s.started
		stopped := make(chan struct{})
		go func() { cancel(); close(stopped) }()
		close(s.release) // the send completes after Run was cancelled
		<-stopped
		require.Equal(t, outbox.StatusDelivered, b.state(t, id).Status)
	})

	t.Run("GraceOverCancelsSendAndMarksRetry", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		id := b.enqueue(t, conversion("T-cut"))
		s := &blockingSender{started: make(chan struct{}, 1), release: make(chan struct{})}
		b.cfg.ShutdownGrace = 10 * time.Millisecond
		b.cfg.BackoffInitial, b.cfg.BackoffMax = time.Hour, time.Hour
		b.cfg.MaxAttempts = 1 // the cut-short send must not use up the last attempt
		p, err := poller.New(b.pool, s, b.cfg)
		require.NoError(t, err)
		cancel := startRun(t, p)
		<-s.started
		cancel()
		st := b.state(t, id)
		require.Equal(t, outbox.StatusPending, st.Status)
		require.Contains(t, st.LastError, context.Canceled.Error())
		var leased bool
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT lease_token IS NOT NULL FROM ga4_outbox.events WHERE id = $1`, id).Scan(&leased))
		require.False(t, leased, "the result was marked, not left to the lease")
		var due bool
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT next_attempt_at <= now() FROM ga4_outbox.events WHERE id = $1`, id).Scan(&due))
		require.True(t, due, "released for the next worker at once, no backoff")
	})
}

func TestRetainDeletesOnlyOldFinishedRows(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.Retention = poller.RetentionConfig{DeliveredAfter: 30 * 24 * time.Hour, SkippedAfter: 90 * 24 * time.Hour, BatchSize: 2}
	ctx := context.Background()
	_, err := b.pool.Exec(ctx, `
		INSERT INTO ga4_outbox.events (transaction_id, status, reason, updated_at)
		SELECT 'gone-delivered-' || i, 'delivered', NULL, now() - interval '40 days' FROM generate_series(1, 5) i
		UNION ALL SELECT 'gone-skipped', 'skipped', 'consent_denied', now() - interval '100 days'
		UNION ALL SELECT 'kept-delivered', 'delivered', NULL, now() - interval '1 day'
		UNION ALL SELECT 'kept-skipped', 'skipped', 'invalid', now() - interval '40 days'
		UNION ALL SELECT 'kept-failed', 'failed', 'rejected', now() - interval '400 days'
		UNION ALL SELECT 'kept-pending', 'pending', NULL, now() - interval '400 days'`)
	require.NoError(t, err)
	n, err := b.poller(t).Retain(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 6, n)
	rows, err := b.pool.Query(ctx, `SELECT transaction_id FROM ga4_outbox.events ORDER BY transaction_id`)
	require.NoError(t, err)
	left, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"kept-delivered", "kept-failed", "kept-pending", "kept-skipped"}, left)

	b.cfg.Retention = poller.RetentionConfig{}
	n, err = b.poller(t).Retain(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "zero ages keep everything")
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg := prometheus.NewPedanticRegistry()
	b.cfg.Registerer = reg
	b.enqueue(t, conversion("T-m1"))
	b.enqueue(t, conversion("T-m2"))
	denied := conversion("T-m3")
	denied.AnalyticsStorage = outbox.ConsentDenied
	b.enqueue(t, denied)
	b.drain(t)

	got := gathered(t, reg)
	require.Equal(t, 2.0, got["ga4_outbox_delivered_total"])
	require.Equal(t, 1.0, got["ga4_outbox_skipped_total{reason=consent_denied}"])
	for _, zero := range []string{"failed_total{reason=rejected}", "failed_total{reason=max_attempts}",
		"skipped_total{reason=invalid}", "skipped_total{reason=expired}", "skipped_total{reason=missing_client_id}",
		"skipped_total{reason=unknown_property}"} {
		v, ok := got["ga4_outbox_"+zero]
		require.True(t, ok && v == 0, "%s exists at 0 before the first such row", zero)
	}
	require.Equal(t, 2.0, got["ga4_outbox_rows{status=delivered}"])
	require.Equal(t, 1.0, got["ga4_outbox_rows{status=skipped}"])
	require.Equal(t, 0.0, got["ga4_outbox_rows{status=pending}"])
	require.Equal(t, 0.0, got["ga4_outbox_oldest_pending_age_seconds"])
	require.Equal(t, 1.0, got["ga4_outbox_claimed_batch_rows"], "one batch claimed (histogram count)")
	require.Equal(t, 2.0, got["ga4_outbox_delivery_lag_seconds"], "one lag observation per delivered row")
	require.Equal(t, 1.0, got["ga4_outbox_send_duration_seconds"])
}

// TestRowsMetricCountsEveryScrape: every scrape reports the rows by status
// as they are at that moment, the finished ones too.
func TestRowsMetricCountsEveryScrape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	reg := prometheus.NewPedanticRegistry()
	b.cfg.Registerer = reg
	b.poller(t)
	rows := func() (pending, delivered float64) {
		got := gathered(t, reg)
		return got["ga4_outbox_rows{status=pending}"], got["ga4_outbox_rows{status=delivered}"]
	}
	insert := func(tx, status string) {
		_, err := b.pool.Exec(context.Background(), `INSERT INTO ga4_outbox.events (transaction_id, status, delivered_at)
			VALUES ($1, $2, CASE WHEN $2 = 'delivered' THEN now() END)`, tx, status)
		require.NoError(t, err)
	}
	insert("R-1", outbox.StatusDelivered)
	p, d := rows()
	require.Equal(t, [2]float64{0, 1}, [2]float64{p, d})

	insert("R-2", outbox.StatusDelivered)
	insert("R-3", outbox.StatusPending)
	p, d = rows()
	require.Equal(t, [2]float64{1, 2}, [2]float64{p, d})
}

// gathered returns every sample of reg by name{labels}.
func gathered(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()+labels(m)] = value(m)
		}
	}
	return got
}

func labels(m *dto.Metric) string {
	var parts []string
	for _, l := range m.GetLabel() {
		parts = append(parts, l.GetName()+"="+l.GetValue())
	}
	if len(parts) == 0 {
		return ""
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// statementCounter counts the statements a pool runs, by kind.
type statementCounter struct{ claims, marks, checks, other atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	switch {
	case strings.Contains(d.SQL, "FOR UPDATE SKIP LOCKED") && strings.Contains(d.SQL, "lease_token = $5"):
		c.claims.Add(1)
	case strings.Contains(d.SQL, "unnest($1::bigint[]"):
		c.marks.Add(1)
	case strings.Contains(d.SQL, "max(id)"): // the claim cursor's check, or its read before a head claim
		c.checks.Add(1)
	default:
		c.other.Add(1)
	}
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// No more than 2 statements per claimed batch, whatever its size.
func TestTwoStatementsPerBatch(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fill(t, 1000)
	counter := &statementCounter{}
	cfg := b.pool.Config()
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	defer pool.Close()
	p, err := poller.New(pool, b.sender, &poller.Config{BatchSize: 100})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stats, err := p.Drain(ctx, nil)
	require.NoError(t, err)
	require.EqualValues(t, 1000, stats.Delivered)
	require.EqualValues(t, 10, counter.marks.Load())
	require.LessOrEqual(t, counter.claims.Load(), int64(10+2), "10 full claims and at most two empty ones")
	require.LessOrEqual(t, counter.checks.Load(), counter.claims.Load(), "at most one cursor check per claim")
	require.LessOrEqual(t, counter.other.Load(), int64(3), "drain's pending counts only")
}
