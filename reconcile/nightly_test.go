package reconcile_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/robfig/cron/v3"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// nightlyNow is 02:00 UTC the day after the fixture's first day, so the
// nightly window is 2026-03-01.
var nightlyNow = time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)

func nightlySetup(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	pool := pgtest.Pool(t)
	insertFixture(t, pool, fixtureRows())
	return pool, t.TempDir()
}

func newNightly(pool *pgxpool.Pool, dir string, m *reconcile.Metrics) *reconcile.Nightly {
	return &reconcile.Nightly{DB: pool, Dir: dir, Formats: []string{"markdown", "json", "html"},
		Options: reconcile.Options{Examples: 3}, Metrics: m}
}

func runCount(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(),
		`SELECT count(*) FROM ga4_outbox.reconcile_runs WHERE trigger = 'nightly'`).Scan(&n))
	return n
}

// TestNightlyTwoSchedulers: two replicas' cron schedulers fire in the same
// second; exactly one writes the report and its reconcile_runs row.
func TestNightlyTwoSchedulers(t *testing.T) {
	t.Parallel()
	pool, dir := nightlySetup(t)
	results := make(chan *reconcile.NightlyResult, 8)
	var crons []*cron.Cron
	for replica := range 2 {
		n := newNightly(pool, dir, nil)
		c := cron.New(cron.WithSeconds(), cron.WithLocation(time.UTC))
		var once sync.Once
		_, err := c.AddFunc("CRON_TZ=UTC * * * * * *", func() {
			once.Do(func() {
				res, err := n.Run(context.Background(), nightlyNow)
				if err != nil {
					t.Errorf("replica %d: %v", replica, err)
				}
				results <- res
			})
		})
		require.NoError(t, err)
		crons = append(crons, c)
	}
	for _, c := range crons {
		c.Start()
	}
	got := []*reconcile.NightlyResult{<-results, <-results}
	for _, c := range crons {
		<-c.Stop().Done()
	}
	ran := 0
	for _, r := range got {
		require.NotNil(t, r)
		if r.Ran {
			ran++
			require.Len(t, r.Files, 3)
		} else {
			require.Contains(t, []string{"locked", "done"}, r.Skipped)
		}
	}
	require.Equal(t, 1, ran, "exactly one replica writes the report")
	require.Equal(t, 1, runCount(t, pool))
}

func TestNightly(t *testing.T) {
	t.Parallel()
	pool, dir := nightlySetup(t)
	m := reconcile.NewMetrics()
	n := newNightly(pool, dir, m)
	ctx := context.Background()

	res, err := n.Run(ctx, nightlyNow)
	require.NoError(t, err)
	require.True(t, res.Ran)
	require.Equal(t, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), res.Since)
	require.Equal(t, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), res.Until)
	require.Equal(t, []string{
		filepath.Join(dir, "ga4-outbox-report-2026-03-01.md"),
		filepath.Join(dir, "ga4-outbox-report-2026-03-01.json"),
		filepath.Join(dir, "ga4-outbox-report-2026-03-01.html"),
	}, res.Files)
	md, err := os.ReadFile(res.Files[0])
	require.NoError(t, err)
	require.Contains(t, string(md), "| EUR | 7 | 310.50 | 150.50 | 60.08% | 100.00 | 40.00 |", "day 1 of the fixture")

	t.Run("the run row holds the window, files and summary", func(t *testing.T) {
		var start, end time.Time
		var trigger string
		var files []string
		var eurRevenue string
		require.NoError(t, pool.QueryRow(ctx, `SELECT window_start, window_end, trigger, files, summary->0->>'revenue'
			FROM ga4_outbox.reconcile_runs WHERE id = $1 AND finished_at IS NOT NULL`, res.RunID).
			Scan(&start, &end, &trigger, &files, &eurRevenue))
		require.Equal(t, res.Since, start.UTC())
		require.Equal(t, res.Until, end.UTC())
		require.Equal(t, "nightly", trigger)
		require.Equal(t, res.Files, files)
		require.Equal(t, "310.50", eurRevenue)
	})
	t.Run("the gauges show the last report", func(t *testing.T) {
		reg := prometheus.NewPedanticRegistry()
		for _, c := range m.Collectors() {
			require.NoError(t, reg.Register(c))
		}
		require.InDelta(t, 0.6008, testutil.ToFloat64(m.Collectors()[0].(*prometheus.GaugeVec).WithLabelValues("EUR")), 1e-9)
		require.InDelta(t, 40.0, testutil.ToFloat64(m.Collectors()[1].(*prometheus.GaugeVec).WithLabelValues("EUR")), 1e-9)
		require.InDelta(t, 25.0, testutil.ToFloat64(m.Collectors()[1].(*prometheus.GaugeVec).WithLabelValues("USD")), 1e-9)
		n, err := testutil.GatherAndCount(reg)
		require.NoError(t, err)
		require.Equal(t, 5, n, "share EUR and USD, at risk EUR and USD, last run")
	})
	t.Run("a second run the same day does nothing", func(t *testing.T) {
		again, err := n.Run(ctx, nightlyNow.Add(time.Hour))
		require.NoError(t, err)
		require.False(t, again.Ran)
		require.Equal(t, "done", again.Skipped)
		require.Equal(t, 1, runCount(t, pool))
	})
	t.Run("the next day gets its own run", func(t *testing.T) {
		next, err := n.Run(ctx, nightlyNow.AddDate(0, 0, 1))
		require.NoError(t, err)
		require.True(t, next.Ran)
		require.Equal(t, 2, runCount(t, pool))
		share := func(f float64) *float64 { return &f }
		day1, day2 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
		require.Equal(t, []reconcile.HistoryPoint{
			{Since: day1, Until: day2, Currency: "EUR", AttributableShare: share(0.6008)},
			{Since: day1, Until: day2, Currency: "USD", AttributableShare: share(0)},
		}, next.Report.History, "the trend starts with the first night's run")
		var page strings.Builder
		require.NoError(t, next.Report.Render(&page, reconcile.FormatHTML))
		require.Contains(t, page.String(), "<title>03-01 EUR: 60.08%</title>")
	})
}

// TestNightlyRace: two replicas released at the same instant, on ten
// different days: every day gets exactly one run.
func TestNightlyRace(t *testing.T) {
	t.Parallel()
	pool, dir := nightlySetup(t)
	a, b := newNightly(pool, dir, nil), newNightly(pool, dir, nil)
	for day := range 10 {
		now := nightlyNow.AddDate(0, 0, day)
		start := make(chan struct{})
		results := make(chan *reconcile.NightlyResult, 2)
		for _, n := range []*reconcile.Nightly{a, b} {
			go func() {
				<-start
				res, err := n.Run(context.Background(), now)
				if err != nil {
					t.Error(err)
				}
				results <- res
			}()
		}
		close(start)
		r1, r2 := <-results, <-results
		require.NotNil(t, r1)
		require.NotNil(t, r2)
		require.True(t, r1.Ran != r2.Ran, "day %d: exactly one of two replicas runs (%+v, %+v)", day, r1.Skipped, r2.Skipped)
	}
	require.Equal(t, 10, runCount(t, pool))
}
