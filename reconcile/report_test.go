package reconcile_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// setup returns a rolled-back transaction holding the fixture, the
// application's orders table and GA4's outcomes.
func setup(t *testing.T) pgx.Tx {
	t.Helper()
	tx := pgtest.Tx(t)
	insertFixture(t, tx, fixtureRows())
	insertOrders(t, tx)
	insertRefunds(t, tx)
	insertOutcomes(t, tx, fixtureOutcomes())
	return tx
}

func fixtureOptions(orders bool) reconcile.Options {
	o := reconcile.Options{Since: since, Until: until, StuckAfter: time.Hour, Examples: 3,
		Now: func() time.Time { return fixedAt }}
	if orders {
		o.OrdersQuery = ordersQuery
	}
	return o
}

func build(t *testing.T, q reconcile.Querier, orders bool) *reconcile.Report {
	t.Helper()
	r, err := reconcile.Build(context.Background(), q, fixtureOptions(orders))
	require.NoError(t, err)
	return r
}

// digest prints every number of the report, one line per summary, source
// and day row (non-empty buckets only, so a zero that turns non-zero shows).
func digest(r *reconcile.Report) []string {
	var out []string
	for _, s := range r.Summary {
		out = append(out, fmt.Sprintf("summary %s n=%d rev=%s share=%s risk=%s%s", s.Currency, s.Conversions,
			s.Revenue, share(s.AttributableShare), s.RevenueAtRisk, buckets(s.Buckets, true)))
		line := fmt.Sprintf("headline %s lost=%s share=%s", s.Currency, s.NotAttributable, share(s.NotAttributableShare))
		for _, c := range s.TopCauses {
			line += fmt.Sprintf(" | %s %s %d %s", cmp.Or(c.Source, "-"), c.Bucket, c.Conversions, c.Revenue)
		}
		out = append(out, line)
	}
	for _, s := range r.BySource {
		out = append(out, "source "+row(s))
	}
	for _, s := range r.ByDay {
		out = append(out, "day "+row(s))
	}
	h := r.Health
	out = append(out, fmt.Sprintf("health delivered=%d p50=%g p95=%g max=%g attempts=%g/%d retried=%d pending=%d stuck=%d oldest=%d",
		h.Delivered, h.LagP50Seconds, h.LagP95Seconds, h.LagMaxSeconds, h.AttemptsMean, h.AttemptsMax, h.Retried,
		h.Pending, h.Stuck, h.OldestPendingAgeSeconds))
	for _, e := range h.TopErrors {
		out = append(out, fmt.Sprintf("error %q %d", e.Error, e.Rows))
	}
	for _, e := range r.Examples {
		out = append(out, fmt.Sprintf("examples %s %s", e.Bucket, strings.Join(e.TransactionIDs, " ")))
	}
	o := r.Orders
	out = append(out, fmt.Sprintf("orders configured=%t n=%d mismatched=%d", o.Configured, o.Orders, o.MismatchedTotal))
	for _, c := range o.NotEnqueued {
		out = append(out, fmt.Sprintf("not_enqueued %s %d %s", c.Currency, c.Conversions, c.Revenue))
	}
	for _, m := range o.Mismatched {
		out = append(out, fmt.Sprintf("mismatch %s order=%s %s outbox=%s %s", m.TransactionID, m.OrderValue,
			m.OrderCurrency, m.OutboxValue, m.OutboxCurrency))
	}
	return out
}

func row(s reconcile.Row) string {
	return fmt.Sprintf("%s %s n=%d rev=%s share=%s%s", s.Key, s.Currency, s.Conversions, s.Revenue,
		share(s.AttributableShare), buckets(s.Buckets, false))
}

func share(f *float64) string {
	if f == nil {
		return "none"
	}
	return strconv.FormatFloat(*f, 'f', -1, 64)
}

func buckets(bs []reconcile.Bucket, reasons bool) string {
	var b strings.Builder
	for _, x := range bs {
		if x.Conversions == 0 {
			continue
		}
		fmt.Fprintf(&b, " | %s %d %s", x.Bucket, x.Conversions, x.Revenue)
		if x.Stuck != nil {
			fmt.Fprintf(&b, " stuck %d %s", x.Stuck.Conversions, x.Stuck.Revenue)
		}
		if reasons && len(x.Reasons) > 0 {
			var rs []string
			for _, r := range x.Reasons {
				rs = append(rs, fmt.Sprintf("%s %d %s", r.Reason, r.Conversions, r.Revenue))
			}
			fmt.Fprintf(&b, " [%s]", strings.Join(rs, ", "))
		}
	}
	return b.String()
}

// wantCommon is every line that does not depend on the orders query.
var wantSources = []string{
	"source backfill USD n=2 rev=95.00 share=0 | missing_client_id 1 15.00 | late 1 80.00",
	"source backfill EUR n=2 rev=22.00 share=0 | missing_client_id 1 10.00 | expired 1 12.00",
	"source webhook USD n=4 rev=92.00 share=0 | missing_session_id 1 25.00 | invalid 2 12.00 | pending 1 55.00 stuck 1 55.00",
	"source webhook EUR n=5 rev=127.50 share=0.3961 | attributable 1 50.50 | missing_session_id 1 40.00 | late 1 20.00 | failed 1 17.00 | pending 1 0.00 stuck 0 0.00",
	"source checkout EUR n=6 rev=279.00 share=0.4566 | consent_denied 1 60.00 | attributable 1 100.00 | late 2 41.00 | failed 1 33.00 | pending 1 45.00 stuck 0 0.00",
	"source checkout USD n=2 rev=299.99 share=1 | attributable 2 299.99",
	"day 2026-03-01 EUR n=7 rev=310.50 share=0.6008 | consent_denied 1 60.00 | attributable 2 150.50 | missing_session_id 1 40.00 | missing_client_id 1 10.00 | late 2 50.00",
	"day 2026-03-01 USD n=2 rev=40.00 share=0 | missing_session_id 1 25.00 | missing_client_id 1 15.00",
	"day 2026-03-02 EUR n=3 rev=62.00 share=0 | expired 1 12.00 | failed 2 50.00",
	"day 2026-03-02 USD n=4 rev=311.99 share=0.9615 | attributable 2 299.99 | invalid 2 12.00",
	"day 2026-03-03 EUR n=3 rev=56.00 share=0 | late 1 11.00 | pending 2 45.00 stuck 0 0.00",
	"day 2026-03-03 USD n=2 rev=135.00 share=0 | late 1 80.00 | pending 1 55.00 stuck 1 55.00",
	"health delivered=11 p50=120 p95=172470.5 max=259140 attempts=1.18/3 retried=1 pending=3 stuck=1 oldest=7200",
	`error "HTTP 503" 2`,
	`error "HTTP 400: bad request" 1`,
	`error "dial tcp: i/o timeout" 1`,
	"examples missing_session_id M1 M2",
	"examples missing_client_id C1 C2",
	"examples late B1 L1 L2",
	"examples invalid I1 U1",
	"examples expired E1",
	"examples failed F1 F2",
	"examples pending P2",
}

const (
	eurBuckets = " | consent_denied 1 60.00" +
		" | attributable 2 150.50" +
		" | missing_session_id 1 40.00 [no_session_id 1 40.00]" +
		" | missing_client_id 1 10.00 [skipped_missing_client_id 1 10.00]" +
		" | late 3 61.00 [sent_after_24h 1 30.00, timestamp_before_session 1 11.00, timestamp_outside_session 1 20.00]" +
		" | expired 1 12.00 [expired 1 12.00]" +
		" | failed 2 50.00 [max_attempts 1 17.00, rejected 1 33.00]" +
		" | pending 2 45.00 stuck 0 0.00"
	usdBuckets = " | attributable 2 299.99 [recovered_session_id 2 299.99]" +
		" | missing_session_id 1 25.00 [invalid_session_id 1 25.00]" +
		" | missing_client_id 1 15.00 [invalid_client_id 1 15.00]" +
		" | late 1 80.00 [sent_after_24h 1 80.00]" +
		" | invalid 2 12.00 [invalid 1 5.00, unknown_property 1 7.00]" +
		" | pending 1 55.00 stuck 1 55.00"
)

func wantWithOrders() []string {
	want := []string{
		"summary EUR n=15 rev=503.50 share=0.3393 risk=40.00" + eurBuckets + " | not_enqueued 2 75.00",
		"headline EUR lost=293.00 share=0.6607 | - not_enqueued 2 75.00 | checkout pending 1 45.00 | checkout late 2 41.00",
		"summary USD n=9 rev=516.99 share=0.5803 risk=25.00" + usdBuckets + " | not_enqueued 1 30.00",
		"headline USD lost=217.00 share=0.4197 | backfill late 1 80.00 | webhook pending 1 55.00 | - not_enqueued 1 30.00",
	}
	want = append(want, wantSources[:len(wantSources)-1]...)
	want = append(want, "examples pending P2", "examples not_enqueued O1 O2 O3",
		"orders configured=true n=8 mismatched=2",
		"not_enqueued EUR 2 75.00", "not_enqueued USD 1 30.00",
		"mismatch A4 order=99.90 USD outbox=99.99 USD",
		"mismatch M2 order=25.00 EUR outbox=25.00 USD")
	return want
}

func wantWithoutOrders() []string {
	want := []string{
		"summary EUR n=13 rev=428.50 share=0.4084 risk=40.00" + eurBuckets,
		"headline EUR lost=218.00 share=0.5916 | checkout pending 1 45.00 | checkout late 2 41.00 | webhook missing_session_id 1 40.00",
		"summary USD n=8 rev=486.99 share=0.616 risk=25.00" + usdBuckets,
		"headline USD lost=187.00 share=0.384 | backfill late 1 80.00 | webhook pending 1 55.00 | webhook missing_session_id 1 25.00",
	}
	want = append(want, wantSources...)
	return append(want, "orders configured=false n=0 mismatched=0")
}

func TestBuild(t *testing.T) {
	t.Parallel()
	tx := setup(t)

	t.Run("every number of every section, with the orders query", func(t *testing.T) {
		r := build(t, tx, true)
		require.Equal(t, wantWithOrders(), digest(r))
		require.Equal(t, since, r.Since)
		require.Equal(t, until, r.Until)
		require.Equal(t, fixedAt, r.GeneratedAt)
		require.EqualValues(t, 3600, r.StuckAfterSeconds)
		share, cur, ok := r.MinShare()
		require.True(t, ok)
		require.Equal(t, "EUR", cur)
		require.InDelta(t, 0.3393, share, 1e-9)
	})
	t.Run("without an orders query there is no not_enqueued bucket", func(t *testing.T) {
		r := build(t, tx, false)
		require.Equal(t, wantWithoutOrders(), digest(r))
		for _, s := range r.Summary {
			for _, b := range s.Buckets {
				require.NotEqual(t, reconcile.BucketNotEnqueued, b.Bucket)
			}
		}
	})
	t.Run("every bucket is listed in precedence order, zeros included", func(t *testing.T) {
		r := build(t, tx, true)
		for _, s := range r.Summary {
			var names []string
			for _, b := range s.Buckets {
				names = append(names, b.Bucket)
			}
			require.Equal(t, reconcile.Buckets, names)
		}
	})
}

func TestBuildEmptyWindow(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	o := fixtureOptions(false)
	o.Since, o.Until = until.Add(24*time.Hour), until.Add(48*time.Hour)
	r, err := reconcile.Build(context.Background(), tx, o)
	require.NoError(t, err)
	require.Empty(t, r.Summary)
	require.Empty(t, r.BySource)
	require.Empty(t, r.Examples)
	require.Zero(t, r.Health.Delivered)
	_, _, ok := r.MinShare()
	require.False(t, ok, "no revenue, no share")
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	ctx := context.Background()

	t.Run("window must not be empty", func(t *testing.T) {
		o := fixtureOptions(false)
		o.Until = o.Since
		_, err := reconcile.Build(ctx, tx, o)
		require.ErrorIs(t, err, reconcile.ErrWindow)
	})
	t.Run("an orders query without the needed columns is named", func(t *testing.T) {
		o := fixtureOptions(false)
		o.OrdersQuery = `SELECT id AS transaction_id, total FROM public.orders WHERE paid_at >= $1 AND paid_at < $2`
		_, err := reconcile.Build(ctx, tx, o)
		var qe *reconcile.OrdersQueryError
		require.True(t, errors.As(err, &qe), "got %v", err)
		require.Equal(t, []string{"value", "currency", "occurred_at"}, qe.Missing)
		require.Contains(t, err.Error(), "reconcile.orders_query: missing column(s) value, currency, occurred_at")
		require.Contains(t, err.Error(), "it returns transaction_id, total")
	})
	t.Run("an orders query that does not parse says so", func(t *testing.T) {
		o := fixtureOptions(false)
		o.OrdersQuery = `SELEC nothing`
		_, err := reconcile.Build(ctx, tx, o)
		require.ErrorContains(t, err, "run reconcile.orders_query")
	})
}

// TestBuildTunesItsTransaction: the report turns JIT off and sets
// ParallelWorkers for its own transaction only; zero keeps the server's
// setting.
func TestBuildTunesItsTransaction(t *testing.T) {
	t.Parallel()
	tx := setup(t)
	ctx := context.Background()
	setting := func(name string) string {
		var v string
		require.NoError(t, tx.QueryRow(ctx, `SELECT current_setting($1)`, name).Scan(&v))
		return v
	}
	server := setting("max_parallel_workers_per_gather")
	o := fixtureOptions(false)
	_, err := reconcile.Build(ctx, tx, o)
	require.NoError(t, err)
	require.Equal(t, server, setting("max_parallel_workers_per_gather"))
	require.Equal(t, "off", setting("jit"))
	require.Equal(t, "force_custom_plan", setting("plan_cache_mode"))
	o.ParallelWorkers = 7
	_, err = reconcile.Build(ctx, tx, o)
	require.NoError(t, err)
	require.Equal(t, "7", setting("max_parallel_workers_per_gather"))
}

// TestLagPercentilesMatchPostgres: the histogram percentiles equal
// PostgreSQL's percentile_cont over the same whole-second lags.
func TestLagPercentilesMatchPostgres(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	ctx := context.Background()
	_, err := tx.Exec(ctx, `
	INSERT INTO ga4_outbox.events (transaction_id, value, currency, client_id, session_id, occurred_at, delivered_at, status, attempts)
	SELECT 'lag' || g, 1, 'EUR', '1.2', '1772359200', timestamptz '2026-03-01 12:00Z',
	       timestamptz '2026-03-01 12:00Z' + ((g * 7919) % 100003) * interval '1 second', 'delivered', 1
	FROM generate_series(1, 1001) g`)
	require.NoError(t, err)
	var p50, p95, maxLag float64
	require.NoError(t, tx.QueryRow(ctx, `
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l), percentile_cont(0.95) WITHIN GROUP (ORDER BY l), max(l)
	FROM (SELECT date_part('epoch', delivered_at - occurred_at) AS l FROM ga4_outbox.events
	      WHERE transaction_id LIKE 'lag%') x`).Scan(&p50, &p95, &maxLag))
	o := fixtureOptions(false)
	o.Since, o.Until = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 12, 0, 1, 0, time.UTC)
	r, err := reconcile.Build(ctx, tx, o)
	require.NoError(t, err)
	require.EqualValues(t, 1001, r.Health.Delivered)
	require.InDelta(t, p50, r.Health.LagP50Seconds, 1e-6)
	require.InDelta(t, p95, r.Health.LagP95Seconds, 1e-6)
	require.InDelta(t, maxLag, r.Health.LagMaxSeconds, 1e-6)
	require.NotEqual(t, r.Health.LagP50Seconds, r.Health.LagP95Seconds)
}

// TestTopErrorsGroupTextsByShape: errors that embed the row's own values
// (a quoted client_id, a session_id in milliseconds) would each be a group
// of one row; texts that differ only there are one group named by their
// shape, while short numbers (HTTP status codes) still tell groups apart.
func TestTopErrorsGroupTextsByShape(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	var rows []fixtureRow
	add := func(lastError string) {
		rows = append(rows, fixtureRow{tx: fmt.Sprintf("E%d", len(rows)), value: "1.00", currency: "EUR",
			client: "123.456", session: sid1, occurred: s1.Add(m(5)), status: "failed", reason: "rejected",
			attempts: 1, lastError: lastError})
	}
	for _, ms := range []string{"1772359200123", "1772359200456", "1772359200789"} {
		add("invalid payload: session_id " + ms + " looks like milliseconds: it must be the session start in Unix seconds (10 digits)")
	}
	add(`invalid payload: client_id "abc" is not two positive integers joined by a dot (e.g. 1197596843.1673515099)`)
	add(`invalid payload: client_id "a \"quoted\" id" is not two positive integers joined by a dot (e.g. 1197596843.1673515099)`)
	add("HTTP 503")
	add("HTTP 503")
	add("HTTP 500")
	insertFixture(t, tx, rows)

	r, err := reconcile.Build(context.Background(), tx, reconcile.Options{Since: since, Until: until,
		Now: func() time.Time { return fixedAt }})
	require.NoError(t, err)
	require.Equal(t, []reconcile.ErrorCount{
		{Error: "invalid payload: session_id <n> looks like milliseconds: it must be the session start in Unix seconds (10 digits)",
			Rows: 3, Messages: 3, Example: "invalid payload: session_id 1772359200123 looks like milliseconds: it must be the session start in Unix seconds (10 digits)"},
		{Error: "HTTP 503", Rows: 2, Messages: 1, Example: "HTTP 503"},
		{Error: `invalid payload: client_id "…" is not two positive integers joined by a dot (e.g. <n>.<n>)`,
			Rows: 2, Messages: 2, Example: `invalid payload: client_id "a \"quoted\" id" is not two positive integers joined by a dot (e.g. 1197596843.1673515099)`},
		{Error: "HTTP 500", Rows: 1, Messages: 1, Example: "HTTP 500"},
	}, r.Health.TopErrors)
}

// TestOrdersQueryEnds: an orders query may end in a semicolon, a -- or /*
// */ comment, or both; the report wraps it as a subquery all the same.
func TestOrdersQueryEnds(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"SELECT 1":                             "SELECT 1",
		" SELECT 1 ;\n":                        "SELECT 1",
		"SELECT 1 -- one":                      "SELECT 1",
		"SELECT 1; -- one\n-- two\n":           "SELECT 1",
		"SELECT 1 /* a; b */ ;":                "SELECT 1",
		"SELECT ';--' AS x -- c":               "SELECT ';--' AS x",
		`SELECT 'it''s' AS "a;--b" /* open`:    `SELECT 'it''s' AS "a;--b"`,
		"SELECT 1 -- c\nFROM t WHERE a < $2 ;": "SELECT 1 -- c\nFROM t WHERE a < $2",
	} {
		require.Equal(t, want, reconcile.TrimQuery(in), "%q", in)
	}
	tx := setup(t)
	for _, q := range []string{ordersQuery + " -- the window's orders", ordersQuery + "\n-- the window's orders\n",
		strings.TrimSuffix(ordersQuery, ";") + " /* paid */"} {
		o := fixtureOptions(true)
		o.OrdersQuery = q
		r, err := reconcile.Build(context.Background(), tx, o)
		require.NoError(t, err, q)
		require.EqualValues(t, 8, r.Orders.Orders)
	}
}

// TestBuildEdgeRows: pending counts go by status (a pending row without a
// session_id is in missing_session_id and still pending, and stuck);
// currencies are grouped in upper case, NULL apart as NoCurrency; amounts
// print with their currency's minor units.
func TestBuildEdgeRows(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	h := time.Hour
	insertFixture(t, tx, []fixtureRow{
		{tx: "S1", value: "10.5", currency: "eur", source: "webhook", client: "123.456", occurred: s1.Add(h),
			created: fixedAt.Add(-2 * h), status: "pending"},
		{tx: "S2", value: "3.25", currency: "EUR", source: "webhook", client: "123.456", occurred: s1.Add(h),
			created: fixedAt.Add(-m(5)), status: "pending"},
		{tx: "S3", value: "5", source: "webhook", client: "123.456", session: sid1, occurred: s1.Add(m(10)),
			delivered: s1.Add(m(11)), status: "delivered", attempts: 1},
		{tx: "S4", value: "1500", currency: "JPY", source: "app", client: "123.456", session: sid1, occurred: s1.Add(m(10)),
			delivered: s1.Add(m(11)), status: "delivered", attempts: 1},
		{tx: "S5", value: "1.5", currency: "KWD", source: "app", client: "123.456", session: sid1, occurred: s1.Add(m(10)),
			delivered: s1.Add(m(11)), status: "delivered", attempts: 1},
		{tx: "S6", value: "0.125", currency: "EUR", source: "app", client: "123.456", session: sid1, occurred: s1.Add(m(10)),
			delivered: s1.Add(m(11)), status: "delivered", attempts: 1},
	})
	r, err := reconcile.Build(context.Background(), tx, fixtureOptions(false))
	require.NoError(t, err)
	got := map[string]string{}
	for _, s := range r.Summary {
		got[s.Currency] = fmt.Sprintf("n=%d rev=%s lost=%s share=%s", s.Conversions, s.Revenue, s.NotAttributable, share(s.AttributableShare))
	}
	require.Equal(t, map[string]string{
		"EUR":                "n=3 rev=13.875 lost=13.750 share=0.009",
		"JPY":                "n=1 rev=1500 lost=0 share=1",
		"KWD":                "n=1 rev=1.500 lost=0.000 share=1",
		reconcile.NoCurrency: "n=1 rev=5.00 lost=0.00 share=1",
	}, got)
	require.EqualValues(t, 2, r.Health.Pending, "both pending rows, though neither is in the pending bucket")
	require.EqualValues(t, 1, r.Health.Stuck)
	require.EqualValues(t, 7200, r.Health.OldestPendingAgeSeconds)
	eur := r.Summary[slices.IndexFunc(r.Summary, func(s reconcile.CurrencySummary) bool { return s.Currency == "EUR" })]
	require.Equal(t, "13.750", eur.Buckets[2].Revenue.String(), "missing_session_id, at the precision of 0.125")
	require.Equal(t, []reconcile.Cause{{Source: "webhook", Bucket: reconcile.BucketMissingSessionID, Conversions: 2,
		Revenue: eur.Buckets[2].Revenue}}, eur.TopCauses)
}
