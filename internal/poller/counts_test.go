package poller_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// sqlCountRows counts what ga4_outbox.row_counts should sum to, from the
// rows themselves.
const sqlCountRows = `
SELECT count(*) FILTER (WHERE status = 'pending'),
       count(*) FILTER (WHERE status = 'pending' AND lease_token IS NOT NULL),
       count(*) FILTER (WHERE status = 'delivered'),
       count(*) FILTER (WHERE status = 'failed'),
       count(*) FILTER (WHERE status = 'skipped'),
       floor(date_part('epoch', min(created_at) FILTER (WHERE status = 'pending')) / 60)::bigint
  FROM ga4_outbox.events`

// countsInSnapshot reads the sidecar's counts and the rows' own count in
// one REPEATABLE READ snapshot.
func countsInSnapshot(t *testing.T, pool *pgxpool.Pool) (got, want poller.RowCounts) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	got, err = poller.ReadCounts(ctx, tx)
	require.NoError(t, err)
	var minute *int64
	require.NoError(t, tx.QueryRow(ctx, sqlCountRows).Scan(&want.Pending, &want.Leased, &want.Delivered,
		&want.Failed, &want.Skipped, &minute))
	if minute != nil {
		want.OldestMinute = time.Unix(*minute*60, 0).UTC()
	}
	return got, want
}

// requireCountsExact checks the sidecar's counts against the rows.
func requireCountsExact(t *testing.T, pool *pgxpool.Pool, after string) {
	t.Helper()
	got, want := countsInSnapshot(t, pool)
	require.Equal(t, want, got, "after %s", after)
}

// TestRowCountsStayExact: after every kind of write the sidecar or an
// operator makes, the counts read from ga4_outbox.row_counts equal a count
// of the rows, by status, leased, and the oldest pending row's minute.
func TestRowCountsStayExact(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	var clock atomic.Int64
	clock.Store(time.Now().Add(10 * time.Second).UnixNano()) // after the rows below are due
	b.cfg.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	b.cfg.Lease = time.Minute
	b.cfg.BatchSize = 4
	exact := func(after string) { t.Helper(); requireCountsExact(t, b.pool, after) }
	exact("migrating an empty outbox")

	b.fill(t, 10)
	exact("a bulk INSERT")
	b.enqueue(t, conversion("C-1"))
	b.enqueue(t, conversion("C-1"))
	exact("an enqueue and its retried duplicate")
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	_, err = outbox.Enqueue(ctx, tx, conversion("C-rolled-back"))
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	exact("a rolled-back enqueue")
	_, err = b.pool.Exec(ctx, `UPDATE ga4_outbox.events SET created_at = now() - interval '3 hours' WHERE transaction_id = 'C-1'`)
	require.NoError(t, err)
	exact("an older created_at")

	p := b.poller(t)
	batch, err := p.Claim(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, batch.Len())
	exact("a claim")
	_, err = p.MarkAll(ctx, batch, poller.Retry(errors.New("HTTP 503"), time.Second))
	require.NoError(t, err)
	exact("a retry")
	batch, err = p.Claim(ctx)
	require.NoError(t, err)
	_, err = p.MarkAll(ctx, batch, poller.Delivered())
	require.NoError(t, err)
	exact("a delivery")

	dead := b.poller(t)
	_, err = dead.Claim(ctx)
	require.NoError(t, err)
	clock.Add(int64(2 * time.Minute)) // the leases expire; the retries fall due
	exact("leases expired")
	taken, err := b.poller(t).Claim(ctx)
	require.NoError(t, err)
	require.NotZero(t, taken.Len())
	exact("a claim of rows whose lease expired, and of retried rows")
	_, err = b.poller(t).MarkAll(ctx, taken, poller.Fail(outbox.ReasonRejected, errors.New("HTTP 400")))
	require.NoError(t, err)
	exact("a failure")
	b.drain(t)
	exact("a drain")

	_, err = b.pool.Exec(ctx, `UPDATE ga4_outbox.events SET status = 'skipped', reason = 'invalid'
		WHERE id IN (SELECT id FROM ga4_outbox.events WHERE status = 'delivered' ORDER BY id LIMIT 2)`)
	require.NoError(t, err)
	exact("an operator's UPDATE")
	res, err := poller.Requeue(ctx, b.pool, b.cfg.Now(), poller.RequeueFilter{All: true, SkippedReason: outbox.ReasonInvalid})
	require.NoError(t, err)
	require.NotZero(t, res.Total())
	exact("a requeue")
	_, err = poller.CompactCounts(ctx, b.pool, 1)
	require.NoError(t, err)
	exact("a compaction")
	b.drain(t)
	b.cfg.Retention = poller.RetentionConfig{DeliveredAfter: time.Minute, BatchSize: 3}
	clock.Add(int64(time.Hour))
	deleted, err := b.poller(t).Retain(ctx)
	require.NoError(t, err)
	require.NotZero(t, deleted)
	exact("retention")
	b.fill(t, 3)
	_, err = b.pool.Exec(ctx, `DELETE FROM ga4_outbox.events WHERE id = (SELECT max(id) FROM ga4_outbox.events)`)
	require.NoError(t, err)
	exact("an operator's DELETE of a pending row")
	_, err = b.pool.Exec(ctx, `TRUNCATE ga4_outbox.events`)
	require.NoError(t, err)
	exact("TRUNCATE")
}

// TestRowCountsWithConcurrentWriters: while applications enqueue, three
// running pollers deliver (some sends retried) and compactions run, the
// counts equal a count of the rows in every snapshot read meanwhile; a
// drain afterwards leaves none pending.
func TestRowCountsWithConcurrentWriters(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var sends atomic.Int64
	sender := senderFunc(func(_ context.Context, rows []poller.Row) []poller.Result {
		out := make([]poller.Result, len(rows))
		for i := range out {
			out[i] = poller.Delivered()
			if sends.Add(1)%7 == 0 {
				out[i] = poller.Retry(errors.New("HTTP 503"), time.Millisecond)
			}
		}
		return out
	})
	cfg := func() *poller.Config {
		return &poller.Config{BatchSize: 20, BackoffInitial: time.Millisecond, BackoffMax: 2 * time.Millisecond}
	}
	runCtx, stopRun := context.WithCancel(ctx)
	var pollers sync.WaitGroup
	for range 3 {
		p, err := poller.New(b.pool, sender, cfg())
		require.NoError(t, err)
		pollers.Go(func() { assert.NoError(t, p.Run(runCtx)) })
	}
	var writers sync.WaitGroup
	for w := range 4 {
		writers.Go(func() {
			for i := range 150 {
				_, err := outbox.Enqueue(ctx, b.pool, conversion(fmt.Sprintf("W%d-%d", w, i)))
				assert.NoError(t, err)
			}
		})
	}
	writers.Go(func() {
		for range 50 {
			_, err := poller.CompactCounts(ctx, b.pool, 1)
			assert.NoError(t, err)
		}
	})
	written := make(chan struct{})
	go func() { writers.Wait(); close(written) }()
	for snapshot, more := 0, true; more || snapshot < 20; snapshot++ {
		select {
		case <-written:
			more = false
		default:
		}
		got, want := countsInSnapshot(t, b.pool)
		require.Equal(t, want, got, "snapshot %d", snapshot)
	}
	p, err := poller.New(b.pool, sender, cfg())
	require.NoError(t, err)
	_, err = p.Drain(ctx, nil)
	require.NoError(t, err)
	require.Zero(t, b.countStatus(t, outbox.StatusPending))
	stopRun()
	pollers.Wait()
	requireCountsExact(t, b.pool, "the pollers")
	require.Equal(t, 600, b.countStatus(t, outbox.StatusDelivered))
}

// TestDrainWaitsForEveryPendingRow: Drain returns only when no row is
// pending: it waits for rows another worker leased (until the lease
// expires), rows in backoff and rows of a batch still being sent by
// another poller, while compactions rewrite the row counts.
func TestDrainWaitsForEveryPendingRow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.cfg.Lease = 300 * time.Millisecond
	b.fill(t, 30)
	dead, err := poller.New(b.pool, b.sender, &poller.Config{BatchSize: 5, Lease: 300 * time.Millisecond})
	require.NoError(t, err)
	abandoned, err := dead.Claim(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, abandoned.Len())

	release := make(chan struct{})
	slow, err := poller.New(b.pool, senderFunc(func(_ context.Context, rows []poller.Row) []poller.Result {
		<-release
		out := make([]poller.Result, len(rows))
		for i := range out {
			out[i] = poller.Delivered()
		}
		return out
	}), &poller.Config{BatchSize: 5})
	require.NoError(t, err)
	held, err := slow.Claim(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, held.Len())
	slowDone := make(chan struct{})
	go func() { defer close(slowDone); slow.Process(ctx, held) }()

	retried := map[string]bool{}
	var mu sync.Mutex
	b.sender.fn = func(r poller.Row, _ int) poller.Result {
		mu.Lock()
		defer mu.Unlock()
		if !retried[r.TransactionID] && len(retried) < 5 {
			retried[r.TransactionID] = true
			return poller.Retry(errors.New("HTTP 503"), 100*time.Millisecond)
		}
		return poller.Delivered()
	}
	stop := make(chan struct{})
	compacted := make(chan struct{})
	go func() {
		defer close(compacted)
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, err := poller.CompactCounts(ctx, b.pool, 1)
			assert.NoError(t, err)
		}
	}()
	var stats poller.Stats
	drained, delivered25 := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		dctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		var once sync.Once
		stats, err = b.poller(t).Drain(dctx, func(s poller.Stats) {
			if s.Delivered >= 25 {
				once.Do(func() { close(delivered25) })
			}
		})
	}()
	// The drain delivers the 25 rows it can claim, then waits for the slow
	// batch: it must not return meanwhile (a drain that did would, within
	// the window watched here).
	select {
	case <-delivered25:
	case <-drained:
	}
	select {
	case <-drained:
		close(release)
		close(stop)
		t.Fatalf("drain returned (%v) while another poller was still sending 5 rows", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	<-slowDone
	<-drained
	close(stop)
	<-compacted
	require.NoError(t, err)
	require.Zero(t, b.countStatus(t, outbox.StatusPending))
	require.EqualValues(t, 25, stats.Delivered, "the abandoned rows after their lease expired, the retried ones after backoff")
	require.EqualValues(t, 5, stats.Retried)
	requireCountsExact(t, b.pool, "the drain")
}
