package poller_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

// The benchmarks of docs/PERFORMANCE.md "Claims when vacuum is held back":
// the database side of a drain (an instant Sender, so only the claim, the
// mark and Drain's own queries take time) while vacuum cannot remove the
// row versions the drain leaves behind. Sizes are small unless
// GA4_OUTBOX_BENCH=full. Run with -benchtime=1x.
var vacuumBenchFull = os.Getenv("GA4_OUTBOX_BENCH") == "full"

func vacuumBenchSize(small, full int) int {
	if vacuumBenchFull {
		return full
	}
	return small
}

// instant delivers every row at once.
var instant = senderFunc(func(_ context.Context, rows []poller.Row) []poller.Result {
	out := make([]poller.Result, len(rows))
	for i := range out {
		out[i] = poller.Delivered()
	}
	return out
})

// benchDB is a fresh migrated database whose outbox table autovacuum never
// visits (as on a server with autovacuum off).
func benchDB(b *testing.B) *pgxpool.Pool {
	b.Helper()
	pool, err := pgxpool.New(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	benchExec(b, pool, `ALTER TABLE ga4_outbox.events SET (autovacuum_enabled = false)`)
	return pool
}

func benchExec(b *testing.B, db *pgxpool.Pool, sql string, args ...any) {
	b.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		b.Fatal(err)
	}
}

// benchFill inserts n sendable purchases in chunks of 50,000, their
// sessions started over the last hour (so deadline order is not id order).
func benchFill(b *testing.B, db *pgxpool.Pool, n int) {
	b.Helper()
	for from := 1; from <= n; from += 50_000 {
		benchExec(b, db, `
			INSERT INTO ga4_outbox.events (transaction_id, value, currency, params, client_id, session_id,
				consent_analytics_storage, session_event_at)
			SELECT 'V-' || i, 19.90, 'EUR', '{"items": [{"item_id": "SKU-1", "price": 9.95, "quantity": 2}]}',
			       (1000000 + i) || '.1700000000', (extract(epoch FROM now())::bigint - 600 - i % 3600)::text,
			       'granted', now() - interval '1 minute'
			  FROM generate_series($1::int, $2::int) AS i`, from, min(from+50_000-1, n))
	}
}

// holdSnapshot opens a REPEATABLE READ transaction in its own session and
// keeps its snapshot until the benchmark ends: vacuum can then remove no
// row version the drain leaves behind.
func holdSnapshot(b *testing.B, db *pgxpool.Pool) {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db.Config().ConnString())
	if err != nil {
		b.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM ga4_outbox.reconcile_runs`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = tx.Rollback(ctx); _ = conn.Close(ctx) })
}

// deadHeadSetup makes a database with n sendable rows, vacuumed and
// analyzed, a snapshot held open from then on, and a poller claiming 500
// rows at a time.
func deadHeadSetup(b *testing.B, n int) (*pgxpool.Pool, *poller.Poller) {
	b.Helper()
	db := benchDB(b)
	benchFill(b, db, n)
	benchExec(b, db, `VACUUM ANALYZE ga4_outbox.events`)
	holdSnapshot(b, db)
	p, err := poller.New(db, instant, &poller.Config{BatchSize: 500})
	if err != nil {
		b.Fatal(err)
	}
	return db, p
}

// msAt returns the q-th percentile of d in milliseconds (d is sorted in
// place); 0 for none.
func msAt(d []time.Duration, q int) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[min(len(d)-1, len(d)*q/100)].Microseconds()) / 1000
}

// reportClaims reports the claim latencies over the last tenth of a
// backlog (tail) and over all of it.
func reportClaims(b *testing.B, all, tail []time.Duration) {
	b.ReportMetric(msAt(tail, 50), "tail-p50-ms")
	b.ReportMetric(msAt(tail, 99), "tail-p99-ms")
	b.ReportMetric(msAt(tail, 100), "tail-max-ms")
	b.ReportMetric(msAt(all, 99), "all-p99-ms")
	b.ReportMetric(msAt(all, 100), "all-max-ms")
}

// drainThirds drains the outbox (n rows) and returns the rates over its
// first and last third and over all of it.
func drainThirds(b *testing.B, db *pgxpool.Pool, n int, timeout time.Duration) (first, last, all float64) {
	b.Helper()
	p, err := poller.New(db, instant, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var t1, t2 time.Time
	third := int64(n / 3)
	start := time.Now()
	b.StartTimer()
	stats, err := p.Drain(ctx, func(s poller.Stats) {
		if t1.IsZero() && s.Delivered >= third {
			t1 = time.Now()
		}
		if t2.IsZero() && s.Delivered >= int64(n)-third {
			t2 = time.Now()
		}
	})
	b.StopTimer()
	end := time.Now()
	b.ReportMetric(float64(stats.Delivered), "delivered")
	if err != nil {
		b.Logf("drain: %v (%d of %d delivered in %s)", err, stats.Delivered, n, end.Sub(start))
		return 0, 0, float64(stats.Delivered) / end.Sub(start).Seconds()
	}
	return float64(third) / t1.Sub(start).Seconds(), float64(third) / end.Sub(t2).Seconds(),
		float64(n) / end.Sub(start).Seconds()
}

// BenchmarkDrainHeldSnapshot: a backlog (300,000 rows with
// GA4_OUTBOX_BENCH=full) drained while a REPEATABLE READ snapshot is held
// open. Target: the rate over the last third at least 0.7 times the rate
// over the first.
func BenchmarkDrainHeldSnapshot(b *testing.B) {
	n := vacuumBenchSize(60_000, 300_000)
	b.StopTimer()
	for range b.N {
		db := benchDB(b)
		benchFill(b, db, n)
		benchExec(b, db, `VACUUM ANALYZE ga4_outbox.events`)
		holdSnapshot(b, db)
		first, last, all := drainThirds(b, db, n, time.Hour)
		b.ReportMetric(first, "first-third-rows/s")
		b.ReportMetric(last, "last-third-rows/s")
		b.ReportMetric(all, "rows/s")
		b.ReportMetric(last/first, "last/first")
	}
}

// BenchmarkDrainStaleStatistics: a backlog (1,000,000 rows with
// GA4_OUTBOX_BENCH=full) written after the table was last analyzed (with
// nine delivered rows in it) and never vacuumed, drained within drain's
// default timeout (10 minutes); then the same backlog in a new database
// after VACUUM ANALYZE. Target: drained, at least half the second rate.
func BenchmarkDrainStaleStatistics(b *testing.B) {
	n := vacuumBenchSize(100_000, 1_000_000)
	b.StopTimer()
	for range b.N {
		stale := benchDB(b)
		benchFill(b, stale, 9)
		benchExec(b, stale, `UPDATE ga4_outbox.events SET status = 'delivered', delivered_at = now()`)
		benchExec(b, stale, `ANALYZE ga4_outbox.events`)
		benchExec(b, stale, `DELETE FROM ga4_outbox.events`)
		benchFill(b, stale, n)
		_, _, staleRate := drainThirds(b, stale, n, 10*time.Minute)

		fresh := benchDB(b)
		benchFill(b, fresh, n)
		benchExec(b, fresh, `VACUUM ANALYZE ga4_outbox.events`)
		_, _, freshRate := drainThirds(b, fresh, n, 10*time.Minute)
		b.ReportMetric(staleRate, "stale-rows/s")
		b.ReportMetric(freshRate, "analyzed-rows/s")
		b.ReportMetric(staleRate/freshRate, "stale/analyzed")
	}
}

// BenchmarkClaimDeadHead claims and marks a backlog (1,000,000 rows with
// GA4_OUTBOX_BENCH=full) 500 rows at a time, one poller, while a snapshot
// is held open, and reports the claim latencies once 90 % of the rows are
// delivered (their versions are dead at the head of the claim index).
// Target: p99 <= 20 ms.
func BenchmarkClaimDeadHead(b *testing.B) {
	claimDeadHead(b, 0)
}

// BenchmarkClaimDeadHeadArrivals is BenchmarkClaimDeadHead while the
// application enqueues 200 rows a second until the backlog is claimed,
// their sessions spread over the last hour like the backlog's (so most
// sort before the claim cursor). It also reports how long the arrived rows
// waited to be claimed.
func BenchmarkClaimDeadHeadArrivals(b *testing.B) {
	claimDeadHead(b, 5*time.Millisecond)
}

// claimDeadHead runs the dead-head benchmark, with one row enqueued every
// arriveEvery (none when 0) until the backlog is claimed.
func claimDeadHead(b *testing.B, arriveEvery time.Duration) {
	n := vacuumBenchSize(100_000, 1_000_000)
	b.StopTimer()
	for range b.N {
		db, p := deadHeadSetup(b, n)
		ctx := context.Background()
		var arrivals *arrivals
		if arriveEvery > 0 {
			arrivals = startArrivals(b, db, arriveEvery)
		}
		var all, early, tail, waits []time.Duration
		done := 0
		b.StartTimer()
		for {
			start := time.Now()
			batch, err := p.Claim(ctx)
			took := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if batch.Len() == 0 {
				break
			}
			waits = append(waits, arrivals.claimed(batch.TransactionIDs(), time.Now())...)
			all = append(all, took)
			if done < n/10 {
				early = append(early, took)
			}
			if done >= n*9/10 {
				tail = append(tail, took)
			}
			if _, err := p.MarkAll(ctx, batch, poller.Delivered()); err != nil {
				b.Fatal(err)
			}
			done += batch.Len()
			if done >= n {
				arrivals.stop()
			}
		}
		b.StopTimer()
		arrivals.stop()
		b.ReportMetric(float64(done), "claimed")
		b.ReportMetric(float64(p.HeadClaims()), "head-claims")
		b.ReportMetric(msAt(early, 50), "first-tenth-p50-ms")
		reportClaims(b, all, tail)
		if arrivals != nil {
			b.ReportMetric(float64(len(waits)), "arrived")
			b.ReportMetric(msAt(waits, 50), "arrival-wait-p50-ms")
			b.ReportMetric(msAt(waits, 99), "arrival-wait-p99-ms")
			b.ReportMetric(msAt(waits, 100), "arrival-wait-max-ms")
		}
	}
}

// BenchmarkClaimDeadHeadTwoPollers is BenchmarkClaimDeadHead with two
// pollers claiming side by side: each sees the other's leases, which may
// expire behind its cursor, so each goes back to the head every 1 - 30 s
// (cursor.go).
func BenchmarkClaimDeadHeadTwoPollers(b *testing.B) {
	n := vacuumBenchSize(100_000, 1_000_000)
	b.StopTimer()
	for range b.N {
		db, p := deadHeadSetup(b, n)
		q, err := poller.New(db, instant, &poller.Config{BatchSize: 500})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		var mu sync.Mutex
		var all, tail []time.Duration
		done := 0
		claimAll := func(p *poller.Poller) error {
			for {
				start := time.Now()
				batch, err := p.Claim(ctx)
				took := time.Since(start)
				if err != nil || batch.Len() == 0 {
					return err
				}
				mu.Lock()
				all = append(all, took)
				if done >= n*9/10 {
					tail = append(tail, took)
				}
				done += batch.Len()
				mu.Unlock()
				if _, err := p.MarkAll(ctx, batch, poller.Delivered()); err != nil {
					return err
				}
			}
		}
		b.StartTimer()
		errs := make(chan error, 2)
		go func() { errs <- claimAll(p) }()
		go func() { errs <- claimAll(q) }()
		for range 2 {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(done), "claimed")
		b.ReportMetric(float64(p.HeadClaims()+q.HeadClaims()), "head-claims")
		reportClaims(b, all, tail)
	}
}

// BenchmarkTrickleDeadHead: a poller that keeps up with 200 rows a second
// (its claims come back short) after it drained a backlog (1,000,000 rows
// with GA4_OUTBOX_BENCH=full) while a snapshot is held open, so that every
// row of the backlog left a dead entry at the head of the claim index.
// Claims run every 10 ms for 10 s; it reports their latencies and how long
// the rows waited to be claimed.
func BenchmarkTrickleDeadHead(b *testing.B) {
	n := vacuumBenchSize(100_000, 1_000_000)
	b.StopTimer()
	for range b.N {
		db, p := deadHeadSetup(b, n)
		ctx := context.Background()
		for {
			batch, err := p.Claim(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if batch.Len() == 0 {
				break
			}
			if _, err := p.MarkAll(ctx, batch, poller.Delivered()); err != nil {
				b.Fatal(err)
			}
		}
		heads := p.HeadClaims()
		arrivals := startArrivals(b, db, 5*time.Millisecond)
		var claims, waits []time.Duration
		tick := time.NewTicker(10 * time.Millisecond)
		end := time.Now().Add(10 * time.Second)
		b.StartTimer()
		for time.Now().Before(end) {
			<-tick.C
			start := time.Now()
			batch, err := p.Claim(ctx)
			claims = append(claims, time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
			waits = append(waits, arrivals.claimed(batch.TransactionIDs(), time.Now())...)
			if _, err := p.MarkAll(ctx, batch, poller.Delivered()); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		tick.Stop()
		arrivals.stop()
		b.ReportMetric(float64(len(claims)), "claims")
		b.ReportMetric(float64(p.HeadClaims()-heads), "head-claims")
		b.ReportMetric(msAt(claims, 50), "claim-p50-ms")
		b.ReportMetric(msAt(claims, 99), "claim-p99-ms")
		b.ReportMetric(float64(len(waits)), "arrived")
		b.ReportMetric(msAt(waits, 50), "arrival-wait-p50-ms")
		b.ReportMetric(msAt(waits, 99), "arrival-wait-p99-ms")
	}
}

// arrivals enqueues one row at a time in its own goroutine and remembers
// when each committed.
type arrivals struct {
	mu      sync.Mutex
	at      map[string]time.Time // transaction id -> commit time
	cancel  context.CancelFunc
	stopped chan struct{}
}

// startArrivals enqueues a row every every until stop.
func startArrivals(b *testing.B, db *pgxpool.Pool, every time.Duration) *arrivals {
	ctx, cancel := context.WithCancel(context.Background())
	a := &arrivals{at: map[string]time.Time{}, cancel: cancel, stopped: make(chan struct{})}
	go func() {
		defer close(a.stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			tx := fmt.Sprintf("A-%d", i)
			if _, err := db.Exec(ctx, `
				INSERT INTO ga4_outbox.events (transaction_id, value, currency, params, client_id, session_id,
					consent_analytics_storage, session_event_at)
				VALUES ($1, 19.90, 'EUR', '{"items": [{"item_id": "SKU-1", "price": 9.95, "quantity": 2}]}',
				        '42.1700000000', (extract(epoch FROM now())::bigint - 600 - $2::int % 3600)::text,
				        'granted', now() - interval '1 minute')`, tx, i*7919); err != nil {
				if ctx.Err() == nil {
					b.Error(err)
				}
				return
			}
			a.mu.Lock()
			a.at[tx] = time.Now()
			a.mu.Unlock()
		}
	}()
	return a
}

// claimed returns how long each arrived row among txs waited, from its
// commit to now. A nil arrivals has none.
func (a *arrivals) claimed(txs []string, now time.Time) []time.Duration {
	if a == nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var waits []time.Duration
	for _, tx := range txs {
		if at, ok := a.at[tx]; ok {
			waits = append(waits, now.Sub(at))
		}
	}
	return waits
}

// stop ends the enqueueing and waits for it. A nil arrivals does nothing.
func (a *arrivals) stop() {
	if a == nil {
		return
	}
	a.cancel()
	<-a.stopped
}
