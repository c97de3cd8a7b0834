package reconcile_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// EnvBench10M, set to 1, runs BenchmarkReport10M.
const EnvBench10M = "GA4O_BENCH_10M"

const (
	benchDB   = "ga4o_bench_report_v2" // a new name when benchFill changes
	benchRows = 10_000_000
)

// benchFill writes rows $1..$2 of the benchmark: 31 days of January 2026,
// three currencies, five sources; 80 % delivered (2.7 % of them more than
// 24 h after the session start), 5 % pending, 5 % failed, 10 % skipped
// (consent_denied, invalid, expired, missing_client_id); 10 % without
// session_id, 2 % without client_id, 1 % emails as client ids, 3 % GS2
// cookie session ids; a last_error on failed rows and 1 % of the others.
const benchFill = `
INSERT INTO ga4_outbox.events (transaction_id, value, currency, source, client_id, session_id,
  session_event_at, occurred_at, status, reason, attempts, delivered_at, created_at, last_error)
SELECT 'T' || g,
       round((g % 10000) / 100.0 + 1, 2),
       (ARRAY['EUR', 'USD', 'GBP'])[1 + g % 3],
       (ARRAY['checkout', 'webhook', 'backfill', 'api', 'import'])[1 + g % 5],
       CASE WHEN g % 50 = 13 THEN NULL WHEN g % 97 = 5 THEN 'user@example.com'
            ELSE (1000000 + g % 900000)::text || '.' || (1700000000 + g % 1000)::text END,
       CASE WHEN g % 10 = 7 THEN NULL
            WHEN g % 31 = 0 THEN 'GS2.1.s' || extract(epoch FROM occ)::bigint - 300 || '$o1$g1'
            ELSE (extract(epoch FROM occ)::bigint - 300)::text END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE occ - interval '1 minute' END,
       occ,
       CASE WHEN g % 20 = 0 THEN 'pending' WHEN g % 20 = 1 THEN 'failed'
            WHEN g % 20 IN (2, 3) THEN 'skipped' ELSE 'delivered' END,
       CASE WHEN g % 20 = 1 THEN 'max_attempts'
            WHEN g % 20 IN (2, 3) THEN (ARRAY['consent_denied', 'invalid', 'expired', 'missing_client_id'])[1 + (g / 20) % 4] END,
       1 + g % 3,
       CASE WHEN g % 20 > 3 THEN occ + CASE WHEN g % 37 = 0 THEN interval '30 hours' ELSE (g % 600) * interval '1 second' END END,
       occ + (g % 7200) * interval '1 second',
       CASE WHEN g % 20 = 1 OR g % 100 = 50 THEN 'HTTP ' || (500 + g % 4) END
FROM generate_series($1::bigint, $2::bigint) g,
     LATERAL (SELECT timestamptz '2026-01-01 00:00Z' + (g % 2592000) * interval '1 second' AS occ) o`

// benchPool opens the kept benchmark database, creating and filling it on
// the first run (a few minutes); later runs reuse it.
func benchPool(b *testing.B) *pgx.Conn {
	b.Helper()
	ctx := context.Background()
	admin := pgtest.ServerURL(b)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		b.Fatal(err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, benchDB).Scan(&exists); err != nil {
		b.Fatal(err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+benchDB); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close(ctx)
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	u.Path = "/" + benchDB
	m, err := dbmigrate.New(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Up(); err != nil && err != dbmigrate.ErrNoChange {
		b.Fatal(err)
	}
	m.Close()
	cfg, err := dbconn.ParseConfig(u.String())
	if err != nil {
		b.Fatal(err)
	}
	db, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close(context.Background()) })
	var n int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM ga4_outbox.events`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	if n != benchRows {
		start := time.Now()
		if _, err := db.Exec(ctx, `TRUNCATE ga4_outbox.events`); err != nil {
			b.Fatal(err)
		}
		fill(b, u.String())
		if _, err := db.Exec(ctx, `VACUUM (ANALYZE) ga4_outbox.events`); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled %d rows in %s", benchRows, time.Since(start).Round(time.Second))
	}
	return db
}

// fill inserts the rows in two halves on two connections at once (the
// generated columns make each insert CPU-bound).
func fill(b *testing.B, url string) {
	b.Helper()
	ctx := context.Background()
	const halves = 2
	errs := make(chan error, halves)
	for i := range halves {
		go func() {
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			lo := int64(i)*benchRows/halves + 1
			_, err = conn.Exec(ctx, benchFill, lo, lo+benchRows/halves-1)
			errs <- err
		}()
	}
	for range halves {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReport10M builds the full report over 10,000,000 rows, all in
// the window. Run: GA4O_BENCH_10M=1 make bench (or go test -run '^$'
// -bench Report10M ./reconcile).
func BenchmarkReport10M(b *testing.B) {
	if os.Getenv(EnvBench10M) != "1" {
		b.Skip("set " + EnvBench10M + "=1 to build the 10M-row benchmark database (" + benchDB + ", kept between runs)")
	}
	db := benchPool(b)
	opts := reconcile.Options{
		Since: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
		Now: func() time.Time { return time.Date(2026, 2, 1, 2, 0, 0, 0, time.UTC) },
	}
	// GA4O_BENCH_WORKERS sets Options.ParallelWorkers (default 0: the
	// server's setting, PostgreSQL's default of 2 here).
	opts.ParallelWorkers, _ = strconv.Atoi(os.Getenv("GA4O_BENCH_WORKERS"))
	b.Run(fmt.Sprintf("parallel_workers=%d", opts.ParallelWorkers), func(b *testing.B) {
		benchBuild(b, db, opts)
	})
}

func benchBuild(b *testing.B, db *pgx.Conn, opts reconcile.Options) {
	ctx := context.Background()
	var r *reconcile.Report
	for b.Loop() {
		var err error
		if r, err = reconcile.Build(ctx, db, opts); err != nil {
			b.Fatal(err)
		}
	}
	var n int64
	for _, s := range r.Summary {
		n += s.Conversions
	}
	if n != benchRows {
		b.Fatalf("report counted %d conversions, want %d", n, benchRows)
	}
}
