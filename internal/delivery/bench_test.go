package delivery_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// Benchmark sizes. make bench runs the small ones; GA4_OUTBOX_BENCH=full
// runs the figures of docs/PERFORMANCE.md (100,000-row drain, 30 s
// trickles, 1,000,000-row backlog).
var benchFull = os.Getenv("GA4_OUTBOX_BENCH") == "full"

func benchSize(small, full int) int {
	if benchFull {
		return full
	}
	return small
}

// benchRig is a database, an emulator on loopback and a delivery sender.
// GA4_OUTBOX_BENCH_TLS=1 serves the emulator over TLS with HTTP/2, as
// Google does; GA4_OUTBOX_BENCH_LATENCY (e.g. 40ms) delays every answer.
type benchRig struct {
	pool   *pgxpool.Pool
	emu    *ga4test.Server
	sender *delivery.Sender
	tracer *statementCounter
}

func newBenchRig(b *testing.B, faults ga4test.Faults) *benchRig {
	b.Helper()
	tracer := &statementCounter{}
	pool := openPool(b, pgtest.URL(b), tracer)
	if d := os.Getenv("GA4_OUTBOX_BENCH_LATENCY"); d != "" && faults.Latency == 0 {
		var err error
		if faults.Latency, err = time.ParseDuration(d); err != nil {
			b.Fatal(err)
		}
	}
	opts := &ga4test.Options{Faults: faults} // keep all: a capped emulator copies its list per event
	var emu *ga4test.Server
	cc := ga4.ClientConfig{} // as the sidecar sends
	if os.Getenv("GA4_OUTBOX_BENCH_TLS") == "1" {
		emu = ga4test.StartTLS(b, opts) // HTTP/2, 100 streams per connection, as Google
		cc.TLSConfig = &tls.Config{RootCAs: emu.CertPool()}
	} else {
		emu = ga4test.Start(b, opts)
	}
	cc.Endpoint = emu.URL
	client, err := ga4.NewClient(&cc)
	if err != nil {
		b.Fatal(err)
	}
	sender, err := delivery.New(client, &delivery.Config{MeasurementID: "G-BENCH1234",
		Secret: func(string) (string, bool) { return "bench-secret", true }})
	if err != nil {
		b.Fatal(err)
	}
	return &benchRig{pool: pool, emu: emu, sender: sender, tracer: tracer}
}

func openPool(b *testing.B, url string, tracer ...*statementCounter) *pgxpool.Pool {
	return openPoolSize(b, url, 8, tracer...)
}

func openPoolSize(b *testing.B, url string, maxConns int32, tracer ...*statementCounter) *pgxpool.Pool {
	b.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	if len(tracer) > 0 {
		cfg.ConnConfig.Tracer = tracer[0]
	}
	cfg.MaxConns = maxConns
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return pool
}

// fill inserts n pending purchases with distinct client_ids (one event per
// request) in chunks of 50,000.
func (r *benchRig) fill(b *testing.B, n int) {
	b.Helper()
	for from := 1; from <= n; from += 50_000 {
		to := min(from+50_000-1, n)
		_, err := r.pool.Exec(context.Background(), `
			INSERT INTO ga4_outbox.events (transaction_id, value, currency, params, client_id, session_id,
				consent_analytics_storage, consent_ad_user_data, session_event_at)
			SELECT 'B-' || i || '-' || md5(random()::text), 19.90, 'EUR',
			       '{"items": [{"item_id": "SKU-1", "price": 9.95, "quantity": 2}]}',
			       (1000000 + i) || '.1700000000', (extract(epoch FROM now())::bigint - 600)::text,
			       'granted', 'granted', now() - interval '1 minute'
			  FROM generate_series($1::int, $2::int) AS i`, from, to)
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := r.pool.Exec(context.Background(), `VACUUM ANALYZE ga4_outbox.events`); err != nil {
		b.Fatal(err)
	}
}

func (r *benchRig) poller(b *testing.B, cfg *poller.Config) *poller.Poller {
	b.Helper()
	c := poller.Config{BatchSize: envInt("BENCH_BATCH", 0), InFlightBatches: envInt("BENCH_INFLIGHT", 0)} // 0: the defaults
	if cfg != nil {
		c = *cfg
	}
	p, err := poller.New(r.pool, r.sender, &c)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// drainOnce drains rows pending rows and reports throughput and resources.
func (r *benchRig) drainOnce(b *testing.B, rows int) float64 {
	b.Helper()
	r.fill(b, rows)
	p := r.poller(b, nil)
	r.tracer.reset()
	cpu0 := cpuTime()
	start := time.Now()
	peakLimit := r.watchLimit()
	b.StartTimer()
	stats, err := p.Drain(context.Background(), nil)
	b.StopTimer()
	elapsed := time.Since(start)
	b.ReportMetric(float64(peakLimit()), "peak-limit")
	ts := r.emu.TransportStats()
	b.ReportMetric(float64(ts.MPConnections), "tcp-conns")
	b.ReportMetric(float64(ts.Connections), "tcp-conns-dialled")
	b.ReportMetric(float64(ts.MaxOpenMPConnections), "tcp-conns-max-open")
	if err != nil || stats.Delivered != int64(rows) {
		b.Fatalf("drain: %v, delivered %d of %d", err, stats.Delivered, rows)
	}
	batches := max(r.tracer.marks.Load(), 1)
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "events/s")
	b.ReportMetric((cpuTime()-cpu0).Seconds()/elapsed.Seconds(), "cpu-cores")
	b.ReportMetric(float64(r.tracer.claims.Load()+r.tracer.marks.Load())/float64(batches), "stmts/batch")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(r.tracer.claimNs.Load())/1e6/float64(batches), "claim-ms/batch")
	b.ReportMetric(float64(r.tracer.markNs.Load())/1e6/float64(batches), "mark-ms/batch")
	return float64(rows) / elapsed.Seconds()
}

// watchLimit samples the sender's concurrency limit every 10 ms until the
// returned function is called, which returns the highest seen.
func (r *benchRig) watchLimit() func() int {
	var peak atomic.Int64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peak.Store(max(peak.Load(), int64(r.sender.Limit())))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int { close(done); <-stopped; return int(peak.Load()) }
}

// BenchmarkDrain drains pending conversions (distinct client_ids, so one
// event per request) through the poller, delivery and the ga4 client into
// a loopback emulator. Run with -benchtime=1x.
func BenchmarkDrain(b *testing.B) {
	rows := benchSize(20_000, 100_000)
	b.StopTimer()
	for range b.N {
		r := newBenchRig(b, ga4test.Faults{})
		r.drainOnce(b, rows)
	}
}

// BenchmarkDrainDroppedConnections is BenchmarkDrain with 1 % of the
// connections closed after the request was read; it also reports the
// duplicates GA would have received.
func BenchmarkDrainDroppedConnections(b *testing.B) {
	rows := benchSize(20_000, 100_000)
	b.StopTimer()
	for range b.N {
		r := newBenchRig(b, ga4test.Faults{ShareDrop: 0.01})
		r.drainOnce(b, rows)
		st := r.emu.Stats()
		b.ReportMetric(float64(st.FaultsDrop), "dropped-requests")
		b.ReportMetric(float64(st.Duplicates), "duplicates")
	}
}

// BenchmarkBacklogRSS drains a large backlog (1,000,000 rows with
// GA4_OUTBOX_BENCH=full) and reports the peak RSS of the test process
// (poller, delivery, client and the capped emulator together).
func BenchmarkBacklogRSS(b *testing.B) {
	if !benchFull {
		b.Skip("set GA4_OUTBOX_BENCH=full for the 1,000,000-row backlog")
	}
	b.StopTimer()
	for range b.N {
		r := newBenchRig(b, ga4test.Faults{})
		r.drainOnce(b, 1_000_000)
	}
}

// BenchmarkTrickle enqueues single-row transactions at a fixed rate while a
// poller runs (LISTEN on) and reports commit-to-received latency.
func BenchmarkTrickle(b *testing.B) {
	for _, rate := range []int{500, 2000} {
		b.Run(strconv.Itoa(rate)+"perSec", func(b *testing.B) {
			b.StopTimer()
			for range b.N {
				trickle(b, rate, time.Duration(benchSize(5, 30))*time.Second)
			}
		})
	}
}

func trickle(b *testing.B, rate int, d time.Duration) {
	r := newBenchRig(b, ga4test.Faults{})
	p := r.poller(b, &poller.Config{Schedule: "@every 10s", InFlightBatches: envInt("BENCH_INFLIGHT", 0)}) // the defaults otherwise
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// the application's own pool: 8 connections unless BENCH_APP_CONNS
	producer := openPoolSize(b, r.pool.Config().ConnString(), int32(envInt("BENCH_APP_CONNS", 8)))
	n := int(d.Seconds()) * rate
	committed := make([]time.Time, n)
	var seq atomic.Int64
	// Open-loop pacing: transaction i starts at start + i*interval, or at
	// once when the loop is behind (a ticker drops ticks on a busy machine,
	// which silently lowered the rate).
	interval := time.Second / time.Duration(rate)
	b.StartTimer()
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		go func() {
			err := pgx.BeginFunc(ctx, producer, func(tx pgx.Tx) error {
				c := trickleConversion(i)
				_, err := outbox.Enqueue(ctx, tx, c)
				return err
			})
			if err != nil {
				b.Error(err)
			}
			committed[i] = time.Now()
			seq.Add(1)
		}()
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "started-per-sec")
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := r.emu.WaitReceived(wctx, n); err != nil { // one event per request
		b.Fatal(err)
	}
	b.StopTimer()
	elapsed := time.Since(start).Seconds()
	last := slices.MaxFunc(committed, func(a, b time.Time) int { return a.Compare(b) })
	b.ReportMetric(float64(n)/last.Sub(start).Seconds(), "committed-per-sec")
	b.ReportMetric(float64(r.tracer.claims.Load())/elapsed, "claims-per-sec")
	b.ReportMetric(float64(n)/float64(max(r.tracer.marks.Load(), 1)), "rows-per-batch")
	b.ReportMetric(float64(r.tracer.claimNs.Load())/1e6/float64(max(r.tracer.claims.Load(), 1)), "ms-per-claim")
	b.ReportMetric(float64(r.tracer.markNs.Load())/1e6/float64(max(r.tracer.marks.Load(), 1)), "ms-per-mark")
	// The first second warms up (the producer's and the poller's pools
	// connect, statements are prepared, the HTTP connections open): it is
	// reported on its own, and the percentiles are over the rest.
	all, steady := latencies(r.emu, committed, rate)
	b.ReportMetric(float64(len(steady)), "samples")
	b.ReportMetric(float64(percentile(steady, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(percentile(steady, 99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(percentile(all, 99).Microseconds())/1000, "p99-with-warmup-ms")
}

func trickleConversion(i int) outbox.Conversion {
	now := time.Now()
	return outbox.Conversion{EventName: "purchase", TransactionID: fmt.Sprintf("TR-%d-%d", i, now.UnixNano()),
		Value: "19.90", Currency: "EUR", ClientID: fmt.Sprintf("%d.1700000000", 1000000+i),
		SessionID: strconv.FormatInt(now.Add(-time.Minute).Unix(), 10), AnalyticsStorage: outbox.ConsentGranted,
		SessionEventAt: now}
}

// latencies pairs the emulator's receive times (the last MaxRecorded
// events) with commit times by the index in the transaction id: all of
// them, and those of transactions from warmup on.
func latencies(emu *ga4test.Server, committed []time.Time, warmup int) (all, steady []time.Duration) {
	for _, e := range emu.Accepted() {
		parts := strings.Split(e.TransactionID, "-")
		i, err := strconv.Atoi(parts[1])
		if err != nil || i >= len(committed) || committed[i].IsZero() {
			continue
		}
		d := max(e.ReceivedAt.Sub(committed[i]), 0)
		all = append(all, d)
		if i >= warmup {
			steady = append(steady, d)
		}
	}
	slices.Sort(all)
	slices.Sort(steady)
	return all, steady
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, len(d)*p/100)]
}

func envInt(key string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(key)); err == nil && n > 0 {
		return n
	}
	return def
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's peak resident set size in bytes (Linux: KiB).
func peakRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss * 1024
}

// statementCounter counts claim and mark statements.
type statementCounter struct{ claims, marks, claimNs, markNs atomic.Int64 }

type traceKey struct{}

func (c *statementCounter) reset() { c.claims.Store(0); c.marks.Store(0) }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	switch {
	case strings.Contains(d.SQL, "FOR UPDATE SKIP LOCKED") && strings.Contains(d.SQL, "lease_token = $5"):
		c.claims.Add(1)
		return context.WithValue(ctx, traceKey{}, traceStart{&c.claimNs, time.Now()})
	case strings.Contains(d.SQL, "unnest($1::bigint[]"):
		c.marks.Add(1)
		return context.WithValue(ctx, traceKey{}, traceStart{&c.markNs, time.Now()})
	}
	return ctx
}

type traceStart struct {
	sum *atomic.Int64
	at  time.Time
}

func (c *statementCounter) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if ts, ok := ctx.Value(traceKey{}).(traceStart); ok {
		ts.sum.Add(int64(time.Since(ts.at)))
	}
}
