package poller_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

// The queries that counted pending rows by reading them (schema version
// 12 and before), kept here to measure against: drain's wait, the scrape's
// pending rows and oldest age, and status's split. Each reads both
// partial indexes over the pending rows, dead entries included.
const (
	countPartsBefore = ` FROM ga4_outbox.events WHERE status = 'pending' AND retry_at IS NULL
UNION ALL SELECT `
	countPartsEnd = ` FROM ga4_outbox.events WHERE status = 'pending' AND retry_at IS NOT NULL) AS p`

	drainColsBefore = `count(*) AS n, min(next_attempt_at) FILTER (WHERE lease_token IS NULL) AS next_free,
       count(*) FILTER (WHERE lease_token IS NOT NULL) AS leased`
	sqlDrainWaitBefore = `SELECT sum(n)::bigint, COALESCE(min(next_free), 'infinity'), sum(leased)::bigint FROM (SELECT ` +
		drainColsBefore + countPartsBefore + drainColsBefore + countPartsEnd

	scrapeColsBefore       = `count(*) AS n, min(created_at) AS oldest`
	sqlScrapePendingBefore = `SELECT sum(n)::bigint, COALESCE(EXTRACT(EPOCH FROM now() - min(oldest))::float8, 0) FROM (SELECT ` +
		scrapeColsBefore + countPartsBefore + scrapeColsBefore + countPartsEnd

	statusColsBefore = `count(*) FILTER (WHERE next_attempt_at <= $1) AS due,
       count(*) FILTER (WHERE next_attempt_at > $1 AND lease_token IS NOT NULL) AS leased,
       count(*) FILTER (WHERE next_attempt_at > $1 AND lease_token IS NULL) AS backoff,
       min(created_at) AS oldest`
	sqlStatusPendingBefore = `SELECT sum(due)::bigint, sum(leased)::bigint, sum(backoff)::bigint, min(oldest) FROM (SELECT ` +
		statusColsBefore + countPartsBefore + statusColsBefore + countPartsEnd
)

// BenchmarkCountsDeadHead: the pending counts of drain's wait, the metrics
// scrape and status at a backlog (1,000,000 rows with GA4_OUTBOX_BENCH=full)
// of which 90 % were claimed and delivered 500 at a time while a snapshot
// was held open (the table vacuumed and analyzed after the load, before
// the snapshot): the queries that read the rows (before) against the row
// counts (after), interleaved, 9 rounds. Reports the median and the
// spread (min-max) of each in ms.
func BenchmarkCountsDeadHead(b *testing.B) {
	n := vacuumBenchSize(100_000, 1_000_000)
	b.StopTimer()
	for range b.N {
		db, p := deadHeadSetup(b, n)
		deliverTenths(b, p, n, 9)
		var deltas int64
		if err := db.QueryRow(context.Background(), `SELECT count(*) FROM ga4_outbox.row_counts`).Scan(&deltas); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(deltas), "count-rows-uncompacted")
		b.StartTimer()
		timings := measureCounts(b, db, p, 9)
		b.StopTimer()
		for _, name := range slices.Sorted(maps.Keys(timings)) {
			d := timings[name]
			slices.Sort(d)
			b.ReportMetric(ms(d[len(d)/2]), name+"-p50-ms")
			b.ReportMetric(ms(d[0]), name+"-min-ms")
			b.ReportMetric(ms(d[len(d)-1]), name+"-max-ms")
		}
		headClaim(b, db)
	}
}

// deliverTenths claims and delivers tenths/10 of the n rows, 500 a claim.
func deliverTenths(b *testing.B, p *poller.Poller, n, tenths int) {
	b.Helper()
	ctx := context.Background()
	for done := 0; done < n*tenths/10; {
		batch, err := p.Claim(ctx)
		if err != nil || batch.Len() == 0 {
			b.Fatalf("claim after %d rows: %v (%d rows)", done, err, batch.Len())
		}
		if _, err := p.MarkAll(ctx, batch, poller.Delivered()); err != nil {
			b.Fatal(err)
		}
		done += batch.Len()
	}
}

// measureCounts times each count rounds times, before and after in turn.
func measureCounts(b *testing.B, db *pgxpool.Pool, p *poller.Poller, rounds int) map[string][]time.Duration {
	b.Helper()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	if _, err := poller.New(db, instant, &poller.Config{Registerer: reg}); err != nil {
		b.Fatal(err)
	}
	var n, leased, due, backoff int64
	var next time.Time
	var oldest float64
	var oldestAt *time.Time
	steps := []struct {
		name string
		run  func() error
	}{
		{"drain-wait-before", func() error {
			return db.QueryRow(ctx, sqlDrainWaitBefore).Scan(&n, &next, &leased)
		}},
		{"drain-wait-after", func() error { _, _, err := p.DrainWait(ctx); return err }},
		{"scrape-pending-before", func() error { return db.QueryRow(ctx, sqlScrapePendingBefore).Scan(&n, &oldest) }},
		{"scrape-after", func() error { _, err := reg.Gather(); return err }},
		{"status-pending-before", func() error {
			return db.QueryRow(ctx, sqlStatusPendingBefore, time.Now()).Scan(&due, &leased, &backoff, &oldestAt)
		}},
		{"status-pending-after", func() error {
			st, err := poller.ReadPending(ctx, db, time.Now())
			n = st.Total
			return err
		}},
		{"status-by-status", func() error { // unchanged: a pass over the table
			_, err := poller.Status(ctx, db, time.Now(), 0)
			return err
		}},
	}
	timings := map[string][]time.Duration{}
	for range rounds {
		for _, s := range steps {
			start := time.Now()
			if err := s.run(); err != nil {
				b.Fatalf("%s: %v", s.name, err)
			}
			timings[s.name] = append(timings[s.name], time.Since(start))
		}
	}
	return timings
}

// headClaim reports what one claim from the head of the claim indexes
// costs (a new poller's first claim), which still walks the dead entries.
func headClaim(b *testing.B, db *pgxpool.Pool) {
	b.Helper()
	p, err := poller.New(db, instant, &poller.Config{BatchSize: 500})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	batch, err := p.Claim(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(ms(time.Since(start)), "head-claim-ms")
	if _, err := p.MarkAll(context.Background(), batch, poller.Delivered()); err != nil {
		b.Fatal(err)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
