package dbmigrate_test

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// EnvMigrationDB names a database at schema version 11, holding the rows
// to migrate, for BenchmarkMigration12Locks.
const EnvMigrationDB = "GA4O_BENCH_MIGRATION_DB"

// BenchmarkMigration12Locks applies migration 000012 (up, then down, so the
// database stays at version 11 for the next run) to the database named by
// GA4O_BENCH_MIGRATION_DB while a writer enqueues purchases one transaction
// at a time, and reports how long each direction took, the writer's
// longest enqueue and the locks taken on ga4_outbox.events (sampled every
// 10 ms from pg_locks). docs/PERFORMANCE.md has the figures on 10,000,000
// rows and how that database is built:
//
//	GA4O_BENCH_MIGRATION_DB=postgres://postgres@127.0.0.1:5432/ga4o_refunds_mig10m \
//	  go test -run '^$' -bench Migration12Locks -benchtime 1x -v ./internal/dbmigrate
func BenchmarkMigration12Locks(b *testing.B) {
	dbURL := os.Getenv(EnvMigrationDB)
	if dbURL == "" {
		b.Skip("set " + EnvMigrationDB + " to a database at schema version 11 (docs/PERFORMANCE.md)")
	}
	ctx := context.Background()
	for range b.N {
		for _, dir := range []struct {
			name  string
			steps int
		}{{"baseline", 0}, {"up", 1}, {"down", -1}} {
			res := measureMigration(b, ctx, dbURL, dir.steps)
			b.Logf("%s: %s", dir.name, res)
			b.ReportMetric(res.took.Seconds(), dir.name+"_s")
			b.ReportMetric(float64(res.slowest[0].took.Milliseconds()), dir.name+"_writer_max_ms")
		}
	}
}

type migrationResult struct {
	start     time.Time // of the migration
	took      time.Duration
	latencies []enqueue            // the writer's, in order
	slowest   []enqueue            // the 5 slowest, slowest first
	locks     map[string]*lockSpan // "who mode granted" -> when seen
	queries   map[string]*lockSpan // the migration's statements -> when seen
}

type enqueue struct {
	at   time.Time
	took time.Duration
}

type lockSpan struct{ first, last time.Time }

func (r migrationResult) String() string {
	var b strings.Builder
	sorted := slices.SortedFunc(slices.Values(r.latencies), func(x, y enqueue) int { return cmp.Compare(x.took, y.took) })
	pct := func(p float64) time.Duration {
		return sorted[int(p*float64(len(sorted)-1))].took.Round(100 * time.Microsecond)
	}
	fmt.Fprintf(&b, "took %s; writer: %d enqueues, p50 %s, p99 %s, p99.9 %s; slowest (at, from the start):",
		r.took.Round(time.Millisecond), len(sorted), pct(0.5), pct(0.99), pct(0.999))
	for _, e := range r.slowest {
		fmt.Fprintf(&b, " %s (+%s)", e.took.Round(time.Millisecond), e.at.Sub(r.start).Round(10*time.Millisecond))
	}
	b.WriteString("\n")
	for _, m := range []map[string]*lockSpan{r.queries, r.locks} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(x, y string) int { return cmp.Compare(m[x].first.UnixNano(), m[y].first.UnixNano()) })
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-66s from +%s for %s\n", k, m[k].first.Sub(r.start).Round(10*time.Millisecond),
				m[k].last.Sub(m[k].first).Round(10*time.Millisecond))
		}
	}
	return b.String()
}

func measureMigration(b *testing.B, ctx context.Context, dbURL string, steps int) migrationResult {
	b.Helper()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	m, err := dbmigrate.New(ctx, withAppName(b, dbURL, "ga4o-migration"))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()

	res := migrationResult{locks: map[string]*lockSpan{}, queries: map[string]*lockSpan{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); res.latencies = write(ctx, pool, stop) }()
	go func() { defer wg.Done(); sampleLocks(ctx, pool, stop, &res) }()
	time.Sleep(time.Second) // the writer's steady state before the migration
	res.start = time.Now()
	if steps == 0 { // the baseline: the writer alone, as long as a migration
		time.Sleep(30 * time.Second)
	} else {
		err = m.Steps(steps)
	}
	res.took = time.Since(res.start)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	res.slowest = slices.SortedFunc(slices.Values(res.latencies), func(x, y enqueue) int { return cmp.Compare(y.took, x.took) })[:5]
	return res
}

func withAppName(b *testing.B, raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// write enqueues purchases one transaction at a time until stop, and
// returns when each started and how long it took.
func write(ctx context.Context, pool *pgxpool.Pool, stop chan struct{}) []enqueue {
	var out []enqueue
	for i := 0; ; i++ {
		select {
		case <-stop:
			return out
		default:
		}
		t := time.Now()
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := outbox.Enqueue(ctx, tx, outbox.Conversion{EventName: "purchase",
				TransactionID: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), Value: "10.00", Currency: "EUR",
				ClientID: "1.2", Source: "migration_bench"})
			return err
		})
		if err != nil {
			panic(err)
		}
		out = append(out, enqueue{t, time.Since(t)})
	}
}

// sampleLocks records every 10 ms the locks on ga4_outbox.events (who:
// the migration or the writer; mode; granted) and the migration's
// statement.
func sampleLocks(ctx context.Context, pool *pgxpool.Pool, stop chan struct{}, res *migrationResult) {
	const q = `SELECT CASE WHEN a.application_name = 'ga4o-migration' THEN 'migration' ELSE 'writer' END,
	       l.mode, l.granted, a.application_name = 'ga4o-migration', left(btrim(regexp_replace(regexp_replace(a.query, '--[^\n]*', '', 'g'), '\s+', ' ', 'g')), 60)
	FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	WHERE l.locktype = 'relation' AND l.relation = to_regclass('ga4_outbox.events') AND a.pid <> pg_backend_pid()`
	see := func(m map[string]*lockSpan, k string, now time.Time) {
		if s := m[k]; s != nil {
			s.last = now
		} else {
			m[k] = &lockSpan{now, now}
		}
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		rows, err := pool.Query(ctx, q)
		if err != nil {
			continue
		}
		now := time.Now()
		var who, mode, query string
		var granted, mig bool
		_, _ = pgx.ForEachRow(rows, []any{&who, &mode, &granted, &mig, &query}, func() error {
			see(res.locks, fmt.Sprintf("%s %s granted=%t", who, mode, granted), now)
			if mig && query != "" {
				see(res.queries, "statement: "+query, now)
			}
			return nil
		})
	}
}
