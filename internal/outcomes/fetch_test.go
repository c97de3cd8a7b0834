package outcomes_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/dataapi"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/outcomestest"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// now is the tests' clock: orders of day1 are 4 days old (final), orders
// of day3 a day old (provisional).
var (
	now  = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	day1 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	day3 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
)

type fixture struct {
	db   pgx.Tx
	fake *outcomestest.Server
	src  *dataapi.Client
	logs *bytes.Buffer
	opts outcomes.Options
}

func setup(t *testing.T) *fixture {
	t.Helper()
	fake := outcomestest.New(t)
	src, err := dataapi.New(context.Background(), dataapi.Config{Endpoint: fake.URL, Options: fake.ClientOptions()})
	require.NoError(t, err)
	f := &fixture{db: pgtest.Tx(t), fake: fake, src: src, logs: &bytes.Buffer{}}
	f.opts = outcomes.Options{
		Since: now.AddDate(0, 0, -7), Until: now,
		Properties:           []outcomes.Property{{PropertyID: "1001"}, {MeasurementID: "G-SHOP2", PropertyID: "2002"}},
		DefaultMeasurementID: "G-SHOP1",
		Now:                  func() time.Time { return now },
		Logger:               slog.New(slog.NewTextHandler(f.logs, nil)),
	}
	return f
}

// purchase enqueues a purchase row; mid "" leaves measurement_id NULL.
func (f *fixture) purchase(t *testing.T, txID, mid string, at time.Time, currency string) {
	t.Helper()
	var m *string
	if mid != "" {
		m = &mid
	}
	_, err := f.db.Exec(context.Background(), `INSERT INTO ga4_outbox.events
		(transaction_id, value, currency, client_id, session_id, occurred_at, measurement_id, source)
		VALUES ($1, 10, $2, '1.2', '1764000000', $3, $4, 'test')`, txID, currency, at, m)
	require.NoError(t, err)
}

type stored struct {
	Outcome, Detail, Channel, Revenue, Currency string
	Final                                       bool
	FirstChecked, Checked                       time.Time
}

func (f *fixture) outcome(t *testing.T, property, txID string) (stored, bool) {
	t.Helper()
	var s stored
	err := f.db.QueryRow(context.Background(), `SELECT outcome, coalesce(detail, ''), coalesce(channel, ''),
		coalesce(ga_revenue::text, ''), coalesce(ga_currency, ''), final, first_checked_at, checked_at
		FROM ga4_outbox.outcomes WHERE property_id = $1 AND transaction_id = $2`, property, txID).
		Scan(&s.Outcome, &s.Detail, &s.Channel, &s.Revenue, &s.Currency, &s.Final, &s.FirstChecked, &s.Checked)
	if err == pgx.ErrNoRows {
		return s, false
	}
	require.NoError(t, err)
	s.FirstChecked, s.Checked = s.FirstChecked.UTC(), s.Checked.UTC()
	return s, true
}

func (f *fixture) fetch(t *testing.T) *outcomes.Summary {
	t.Helper()
	sum, err := outcomes.Fetch(context.Background(), f.db, f.src, f.opts)
	require.NoError(t, err)
	return sum
}

func TestFetchStoresEachOutcome(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "A1", "", day1, "EUR")
	f.purchase(t, "A2", "G-SHOP1", day1, "EUR") // the default measurement id, written out
	f.purchase(t, "A3", "", day1, "EUR")
	f.purchase(t, "B1", "G-SHOP2", day1, "EUR")
	f.purchase(t, "X1", "G-OTHER", day1, "EUR") // no property id
	f.purchase(t, "X2", "G-OTHER", day1, "EUR")
	f.purchase(t, "OLD", "", now.AddDate(0, 0, -8), "EUR") // before the window
	_, err := f.db.Exec(context.Background(), `INSERT INTO ga4_outbox.events (event_name, transaction_id, occurred_at, source)
		VALUES ('refund', 'A9', $1, 'test')`, day1)
	require.NoError(t, err)
	f.fake.Add("1001",
		outcomestest.Purchase{TransactionID: "A1", Channel: "Paid Search", SourceMedium: "google / cpc", Campaign: "bf", Revenue: "10", Purchases: 1},
		outcomestest.Purchase{TransactionID: "A2", Channel: "Direct", Revenue: "10", Purchases: 1})
	f.fake.Add("2002", outcomestest.Purchase{TransactionID: "B1", Channel: "Unassigned", Revenue: "10.00", Purchases: 1})

	sum := f.fetch(t)
	require.Equal(t, 4, sum.Due)
	require.Equal(t, 4, sum.LookedUp)
	require.Equal(t, 4, sum.Final)
	require.Equal(t, map[outcomes.Outcome]int{outcomes.Credited: 1, outcomes.Direct: 1, outcomes.NotFound: 1, outcomes.Unassigned: 1}, sum.ByOutcome)
	require.Equal(t, map[string]int{"G-OTHER": 2}, sum.NoPropertyID)
	require.Equal(t, 2, sum.Requests, "one per property and day")
	require.Equal(t, 1, strings.Count(f.logs.String(), "no property id"), "said once:\n%s", f.logs)

	a1, ok := f.outcome(t, "1001", "A1")
	require.True(t, ok)
	require.Equal(t, stored{Outcome: "credited", Channel: "Paid Search", Revenue: "10", Currency: "EUR", Final: true,
		FirstChecked: now, Checked: now}, a1)
	a3, _ := f.outcome(t, "1001", "A3")
	require.Equal(t, "not_found", a3.Outcome)
	b1, _ := f.outcome(t, "2002", "B1")
	require.Equal(t, "unassigned", b1.Outcome)
	for _, id := range []string{"X1", "OLD", "A9"} {
		_, ok := f.outcome(t, "1001", id)
		require.False(t, ok, id)
	}

	reqs := f.fake.Requests()
	require.Equal(t, "1001", reqs[0].PropertyID)
	r := reqs[0].Report
	require.Equal(t, []string{"A1", "A2", "A3"}, r.DimensionFilter.Filter.InListFilter.Values)
	require.Equal(t, "2026-11-20", r.DateRanges[0].StartDate, "a day before the order's day")
	require.Equal(t, "2026-11-22", r.DateRanges[0].EndDate, "a day after")

	again := f.fetch(t)
	require.Zero(t, again.Due, "final outcomes are not looked up again")
	require.Len(t, f.fake.Requests(), 2)
}

func TestFetchBatchesByDayAndSize(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, id := range []string{"A1", "A2", "A3"} {
		f.purchase(t, id, "", day1, "EUR")
	}
	f.purchase(t, "C1", "", day3, "EUR")
	// The time sent to GA4 names the day: an in-session time the day before.
	_, err := f.db.Exec(context.Background(), `UPDATE ga4_outbox.events SET session_event_at = occurred_at - interval '1 day'
		WHERE transaction_id = 'C1'`)
	require.NoError(t, err)
	f.opts.BatchSize = 2
	sum := f.fetch(t)
	require.Equal(t, 3, sum.Requests)
	var lists [][]string
	var starts []string
	for _, r := range f.fake.Requests() {
		lists = append(lists, r.Report.DimensionFilter.Filter.InListFilter.Values)
		starts = append(starts, r.Report.DateRanges[0].StartDate)
	}
	require.Equal(t, [][]string{{"A1", "A2"}, {"A3"}, {"C1"}}, lists)
	require.Equal(t, []string{"2026-11-20", "2026-11-20", "2026-11-22"}, starts)
}

func TestFetchQuotaExhaustedKeepsWhatWasFetched(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, id := range []string{"A1", "A2", "A3", "A4", "A5"} {
		f.purchase(t, id, "", day1, "EUR")
		f.fake.Add("1001", outcomestest.Purchase{TransactionID: id, Channel: "Email", Revenue: "10", Purchases: 1})
	}
	f.purchase(t, "B1", "G-SHOP2", day1, "EUR")
	f.fake.Lock(func(s *outcomestest.Server) { s.TokensLeft = 20 }) // two reports, then 429
	f.opts.BatchSize = 2
	f.opts.MinQuota = -1

	sum := f.fetch(t)
	require.Equal(t, 4, sum.LookedUp, "two answers stored")
	require.Equal(t, 2, sum.Left, "A5, and B1 of the other property")
	require.Equal(t, []string{"1001", "2002"}, sum.QuotaStopped, "the fake's quota is shared by its properties")
	require.Contains(t, f.logs.String(), "GA4 quota exhausted")
	_, ok := f.outcome(t, "1001", "A4")
	require.True(t, ok)
	_, ok = f.outcome(t, "1001", "A5")
	require.False(t, ok, "not looked up")
	_, ok = f.outcome(t, "2002", "B1")
	require.False(t, ok, "the other property's first query met the spent quota too")

	f.fake.Lock(func(s *outcomestest.Server) { s.TokensLeft = 1000 })
	next := f.fetch(t)
	require.Equal(t, 2, next.Due, "the next run resumes with what is missing")
	require.Equal(t, 2, next.LookedUp)
	reqs := f.fake.Requests()
	require.Equal(t, []string{"A5"}, reqs[len(reqs)-2].Report.DimensionFilter.Filter.InListFilter.Values)
	a5, _ := f.outcome(t, "1001", "A5")
	require.Equal(t, "credited", a5.Outcome)
}

func TestFetchStopsBelowTheQuotaMargin(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "A1", "", day1, "EUR")
	f.purchase(t, "C1", "", day3, "EUR")
	f.fake.Lock(func(s *outcomestest.Server) { s.TokensLeft = 500 })
	sum := f.fetch(t)
	require.Equal(t, 1, sum.Requests)
	require.Equal(t, 1, sum.Left)
	require.Equal(t, int64(490), sum.QuotaLeft["1001"])
	require.Equal(t, []string{"1001"}, sum.QuotaStopped)
}

func TestFetchFlagsMakeAbsentOrdersIndeterminate(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "A1", "", day1, "EUR")
	f.purchase(t, "A2", "", day1, "EUR")
	f.fake.Add("1001", outcomestest.Purchase{TransactionID: "A1", Channel: "Email", Revenue: "10", Purchases: 1})
	f.fake.Lock(func(s *outcomestest.Server) { s.DataLossFromOtherRow, s.Thresholded = true, true })
	f.fetch(t)
	a2, _ := f.outcome(t, "1001", "A2")
	require.Equal(t, "indeterminate", a2.Outcome)
	require.Equal(t, `not in GA4's answer, which may be missing rows: rows folded into "(other)", thresholding`, a2.Detail)
	a1, _ := f.outcome(t, "1001", "A1")
	require.Equal(t, "credited", a1.Outcome, "a present order keeps its channel")
}

func TestFetchProvisionalBecomesFinal(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "C1", "", day3, "EUR")
	sum := f.fetch(t)
	require.Equal(t, 0, sum.Final)
	c1, _ := f.outcome(t, "1001", "C1")
	require.Equal(t, stored{Outcome: "not_found", Final: false, FirstChecked: now, Checked: now}, c1, "GA4 has not processed it yet")

	// A day later GA4 has it; still provisional (48 h old).
	f.fake.Add("1001", outcomestest.Purchase{TransactionID: "C1", Channel: "Organic Search", Revenue: "10", Purchases: 1})
	later := now.Add(24 * time.Hour)
	f.opts.Now = func() time.Time { return later }
	f.fetch(t)
	c1, _ = f.outcome(t, "1001", "C1")
	require.Equal(t, "credited", c1.Outcome)
	require.False(t, c1.Final)

	final := now.Add(48 * time.Hour)
	f.opts.Now = func() time.Time { return final }
	f.fetch(t)
	c1, _ = f.outcome(t, "1001", "C1")
	require.Equal(t, stored{Outcome: "credited", Channel: "Organic Search", Revenue: "10", Currency: "EUR", Final: true,
		FirstChecked: now, Checked: final}, c1)

	f.opts.Now = func() time.Time { return final.Add(24 * time.Hour) }
	require.Zero(t, f.fetch(t).Due, "a final outcome is not checked again")
}

func TestFetchCurrencyMismatch(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "A1", "", day1, "EUR")
	f.fake.Add("1001", outcomestest.Purchase{TransactionID: "A1", Channel: "Email", Revenue: "10.83", Purchases: 1})
	f.fake.Lock(func(s *outcomestest.Server) { s.Currency = "USD" })
	f.fetch(t)
	a1, _ := f.outcome(t, "1001", "A1")
	require.Equal(t, "credited", a1.Outcome)
	require.Equal(t, "10.83", a1.Revenue, "GA4's amount as GA4 wrote it")
	require.Equal(t, "USD", a1.Currency)
	require.Equal(t, "GA4's revenue is in USD, the order in EUR: not compared", a1.Detail)
}

func TestFetchOnePropertyFailsTheOthersGoOn(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "A1", "", day1, "EUR")
	f.purchase(t, "B1", "G-SHOP2", day1, "EUR")
	f.fake.Lock(func(s *outcomestest.Server) { s.Status["1001"] = 403 })
	sum, err := outcomes.Fetch(context.Background(), f.db, f.src, f.opts)
	require.ErrorIs(t, err, outcomes.ErrPermissionDenied)
	require.ErrorContains(t, err, "look up outcomes: runReport property 1001: permission denied")
	require.Equal(t, 1, sum.LookedUp)
	require.Equal(t, 1, sum.Left)
	_, ok := f.outcome(t, "2002", "B1")
	require.True(t, ok)
}

func TestFetchLockedRunsOnOneReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	src := outcomes.SourceFunc(func(context.Context, outcomes.Query) (*outcomes.Answer, error) { return &outcomes.Answer{}, nil })
	opts := outcomes.Options{Properties: []outcomes.Property{{PropertyID: "1"}}}
	_, ran, err := outcomes.FetchLocked(ctx, pool, src, opts)
	require.NoError(t, err)
	require.True(t, ran)

	other, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer other.Release()
	_, err = other.Exec(ctx, `SELECT pg_advisory_lock(x'6761346f6f757463'::bigint)`)
	require.NoError(t, err)
	_, ran, err = outcomes.FetchLocked(ctx, pool, src, opts)
	require.NoError(t, err)
	require.False(t, ran, "another replica holds the lock")
	_, err = other.Exec(ctx, `SELECT pg_advisory_unlock(x'6761346f6f757463'::bigint)`)
	require.NoError(t, err)
}

func TestFetchAsksOnlyTheOrdersDays(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "A1", "", day1, "EUR")
	f.purchase(t, "A2", "", day1, "EUR")
	f.fake.Add("1001",
		outcomestest.Purchase{Date: "2026-11-22", TransactionID: "A1", Channel: "Email", Revenue: "10", Purchases: 1},
		// The same id reused by another shop on the same property weeks later.
		outcomestest.Purchase{Date: "2026-12-20", TransactionID: "A2", Channel: "Email", Revenue: "10", Purchases: 1})
	f.fetch(t)
	a1, _ := f.outcome(t, "1001", "A1")
	require.Equal(t, "credited", a1.Outcome, "the day after the order's UTC day is asked (time zones)")
	a2, _ := f.outcome(t, "1001", "A2")
	require.Equal(t, "not_found", a2.Outcome, "a purchase outside the range is not this order")
}

func TestFetchStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.purchase(t, "A1", "", day1, "EUR")
	f.purchase(t, "B1", "G-SHOP2", day1, "EUR")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	src := outcomes.SourceFunc(func(ctx context.Context, q outcomes.Query) (*outcomes.Answer, error) {
		calls++
		cancel()
		return nil, ctx.Err()
	})
	sum, err := outcomes.Fetch(ctx, f.db, src, f.opts)
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 1, calls, "the other property is not asked")
	require.Zero(t, sum.LookedUp)
}
