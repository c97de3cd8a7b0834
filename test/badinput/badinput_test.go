package badinput_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

const (
	measurementID = "G-BADINPUT1"
	apiSecret     = "bad-input-secret-7c1f"
	maxLastError  = 4096 // a 200 kB params blob must not become a 200 kB last_error
)

// bundle is what the corpus test works with.
type bundle struct {
	pool  *pgxpool.Pool
	emu   *ga4test.Server
	clock clock
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return &bundle{
		pool:  pgtest.Pool(t),
		emu:   ga4test.Start(t, &ga4test.Options{Secrets: map[string][]string{measurementID: {apiSecret}}}),
		clock: newClock(),
	}
}

// TestBadInputCorpus inserts every corpus row with a raw INSERT, between good
// rows, drains the outbox through the delivery adapter into the emulator and
// checks every row's outcome and every delivered payload.
func TestBadInputCorpus(t *testing.T) {
	t.Parallel()
	cases := loadCorpus(t)
	require.GreaterOrEqual(t, len(cases), 50, "the corpus must hold at least 50 rows")
	b := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	goods := b.enqueue(ctx, t, cases)
	stats := b.drain(ctx, t)
	t.Logf("drain: %+v", stats)

	rows := b.outcomes(ctx, t)
	events := b.emu.Accepted()
	st := b.emu.Stats()
	require.Zero(t, st.Dropped, "no event may be dropped (wrong secret or property)")
	require.Zero(t, st.Duplicates, "no transaction_id may arrive twice without faults")

	delivered := 0
	for _, r := range rows {
		if r.status == outbox.StatusDelivered {
			delivered++
		}
	}
	require.Len(t, events, delivered, "the emulator must receive exactly the delivered rows")
	for _, e := range events {
		require.Empty(t, e.Problems, "event %s %s was sent with validation problems", e.Name, e.TransactionID)
	}

	t.Run("good rows delivered with the right payload", func(t *testing.T) {
		for i := range goods {
			b.checkGood(t, i, rows, events)
		}
	})
	for i := range cases {
		tc := &cases[i]
		t.Run(tc.Name, func(t *testing.T) { b.checkCase(t, tc, rows, events) })
	}
}

// enqueue inserts a good row before every other corpus row and returns the
// good rows' session_event_at times.
func (b *bundle) enqueue(ctx context.Context, t *testing.T, cases []testCase) []time.Time {
	var goods []time.Time
	for i := range cases {
		if i%2 == 0 {
			goods = append(goods, b.insertGood(ctx, t, len(goods)))
		}
		tc := &cases[i]
		cols, err := tc.columns(b.clock)
		require.NoError(t, err)
		err = insertRow(ctx, b.pool, cols)
		code, refused := strings.CutPrefix(tc.Expect, "refused/")
		if !refused {
			require.NoError(t, err, "%s: the INSERT must succeed", tc.Name)
			continue
		}
		var pgErr *pgconn.PgError
		require.True(t, errors.As(err, &pgErr), "%s: PostgreSQL must refuse the INSERT, got %v", tc.Name, err)
		require.Equal(t, code, pgErr.Code, "%s: SQLSTATE (%s)", tc.Name, pgErr.Message)
		requireContainsAll(t, tc.Name, pgErr.Message+" "+pgErr.Detail, tc.ErrorHas)
	}
	goods = append(goods, b.insertGood(ctx, t, len(goods)))
	return goods
}

func (b *bundle) insertGood(ctx context.Context, t *testing.T, n int) time.Time {
	cols := map[string]any{}
	for k, v := range baseRow("") {
		cols[k] = b.clock.expand(v.(string))
	}
	at := b.clock.start.Add(-50 * time.Minute)
	cols["transaction_id"] = fmt.Sprintf("GOOD-%03d", n)
	cols["client_id"] = fmt.Sprintf("%d.1700000000", 1_000_000_000+n)
	cols["source"] = fmt.Sprintf("good:%03d", n)
	cols["session_event_at"], cols["occurred_at"] = at, b.clock.start.Add(-45*time.Minute)
	require.NoError(t, insertRow(ctx, b.pool, cols), "good row %d", n)
	return at
}

// insertRow is the raw INSERT a non-Go application runs.
func insertRow(ctx context.Context, pool *pgxpool.Pool, cols map[string]any) error {
	names := make([]string, 0, len(cols))
	for k := range cols {
		names = append(names, k)
	}
	sort.Strings(names)
	args := make([]any, len(names))
	holders := make([]string, len(names))
	for i, k := range names {
		args[i] = cols[k]
		cast := "text"
		switch k {
		case "params", "user_properties":
			cast = "jsonb"
		case "value":
			cast = "numeric"
		case "session_event_at", "occurred_at":
			cast = "timestamptz"
		}
		holders[i] = "$" + strconv.Itoa(i+1) + "::" + cast
	}
	sql := "INSERT INTO ga4_outbox.events (" + strings.Join(names, ", ") + ") VALUES (" +
		strings.Join(holders, ", ") + ") ON CONFLICT DO NOTHING"
	_, err := pool.Exec(ctx, sql, args...)
	return err
}

func (b *bundle) drain(ctx context.Context, t *testing.T) poller.Stats {
	cfg, err := config.Parse(nil, func(k string) string {
		return map[string]string{"GA4_MEASUREMENT_ID": measurementID, "GA4_API_SECRET": apiSecret,
			"GA4_ENDPOINT": b.emu.URL}[k]
	})
	require.NoError(t, err)
	cfg.Poller.Concurrency = 8
	sender, err := newSender(cfg)
	require.NoError(t, err)
	p, err := poller.New(b.pool, sender, &poller.Config{BatchSize: 40, Logger: testLogger(t)})
	require.NoError(t, err)
	stats, err := p.Drain(ctx, nil)
	require.NoError(t, err)
	return stats
}

// outcome is one row as the poller left it.
type outcome struct {
	status, reason, lastError string
	sessionAt, occurredAt     time.Time
}

func (b *bundle) outcomes(ctx context.Context, t *testing.T) map[string]outcome {
	rows, err := b.pool.Query(ctx, `SELECT source, status, coalesce(reason, ''), coalesce(last_error, ''),
		coalesce(session_event_at, 'epoch'), occurred_at FROM ga4_outbox.events`)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]outcome{}
	for rows.Next() {
		var src string
		var o outcome
		require.NoError(t, rows.Scan(&src, &o.status, &o.reason, &o.lastError, &o.sessionAt, &o.occurredAt))
		out[src] = o
	}
	require.NoError(t, rows.Err())
	return out
}

func (b *bundle) checkGood(t *testing.T, n int, rows map[string]outcome, events []ga4test.Event) {
	src := fmt.Sprintf("good:%03d", n)
	r, ok := rows[src]
	require.True(t, ok, src)
	require.Equal(t, outbox.StatusDelivered, r.status, "%s: %s %s", src, r.reason, r.lastError)
	e := findEvent(t, events, fmt.Sprintf("GOOD-%03d", n), "purchase")
	require.Equal(t, fmt.Sprintf("%d.1700000000", 1_000_000_000+n), e.ClientID)
	require.Equal(t, strconv.FormatInt(b.clock.session, 10), fmt.Sprint(e.Params["session_id"]))
	require.Equal(t, "49.90", fmt.Sprint(e.Params["value"]))
	require.Equal(t, "EUR", e.Params["currency"])
	require.Contains(t, e.Params, "engagement_time_msec")
	require.Equal(t, r.sessionAt.UnixMicro(), e.TimestampMicros, "timestamp_micros is the in-session time")
	require.NotNil(t, e.Consent)
	require.Equal(t, "GRANTED", e.Consent.AdUserData)
	require.Equal(t, "GRANTED", e.Consent.AdPersonalization)
	items, _ := e.Params["items"].([]any)
	require.Len(t, items, 1)
}

func (b *bundle) checkCase(t *testing.T, tc *testCase, rows map[string]outcome, events []ga4test.Event) {
	r, present := rows["badinput:"+tc.Name]
	if strings.HasPrefix(tc.Expect, "refused/") {
		require.False(t, present, "a refused INSERT must leave no row")
		return
	}
	require.True(t, present, "row missing")
	got := r.status
	if r.reason != "" {
		got += "/" + r.reason
	}
	require.Equal(t, tc.Expect, got, "why: %s\nlast_error: %s", tc.Why, r.lastError)
	require.LessOrEqual(t, len(r.lastError), maxLastError, "last_error must stay short")
	requireContainsAll(t, tc.Name, r.lastError, tc.ErrorHas)
	for _, s := range tc.ErrorLacks {
		require.NotContains(t, r.lastError, s, "last_error must not repeat %q", s)
		for _, e := range events {
			raw, _ := json.Marshal(e)
			require.NotContains(t, string(raw), s, "no event may carry %q", s)
		}
	}
	if tc.Expect == outbox.StatusDelivered {
		b.checkPayload(t, tc, r, events)
	}
}

func (b *bundle) checkPayload(t *testing.T, tc *testCase, r outcome, events []ga4test.Event) {
	w := tc.Want
	if w == nil {
		w = &want{}
	}
	cols, err := tc.columns(b.clock)
	require.NoError(t, err)
	tid, _ := cols["transaction_id"].(string)
	if w.TransactionID != nil {
		tid = *w.TransactionID
	}
	name := strings.TrimSpace(cols["event_name"].(string))
	if w.EventName != "" {
		name = w.EventName
	}
	e := findEvent(t, events, strings.TrimSpace(tid), name)
	require.Equal(t, name, e.Name)
	if w.ClientID != nil {
		require.Equal(t, *w.ClientID, e.ClientID)
	}
	if w.SessionID != nil {
		if sid := b.clock.expand(*w.SessionID); sid == "" {
			require.NotContains(t, e.Params, "session_id")
		} else {
			require.Equal(t, sid, fmt.Sprint(e.Params["session_id"]))
		}
	}
	if w.UserID != "" {
		require.Equal(t, w.UserID, e.UserID)
	}
	b.checkTimestamp(t, w.Timestamp, e)
	for k, v := range w.Params {
		if v == nil {
			require.NotContains(t, e.Params, k)
			continue
		}
		require.Equal(t, fmt.Sprint(v), fmt.Sprint(e.Params[k]), "params.%s", k)
	}
	if w.Items > 0 {
		items, _ := e.Params["items"].([]any)
		require.Len(t, items, w.Items)
	}
	checkConsent(t, w.Consent, e)
}

func (b *bundle) checkTimestamp(t *testing.T, want string, e ga4test.Event) {
	switch want {
	case "":
	case "now":
		require.GreaterOrEqual(t, e.TimestampMicros, b.clock.start.UnixMicro(), "clamped to the send time")
		require.LessOrEqual(t, e.TimestampMicros, e.ReceivedAt.UnixMicro(), "never in the future")
	default:
		at, err := b.clock.at(want)
		require.NoError(t, err)
		require.Equal(t, at.UnixMicro(), e.TimestampMicros)
	}
}

func checkConsent(t *testing.T, raw json.RawMessage, e ga4test.Event) {
	switch {
	case len(raw) == 0:
	case string(raw) == "null":
		require.Nil(t, e.Consent, "no consent object when consent is unknown")
	default:
		var want map[string]string
		require.NoError(t, json.Unmarshal(raw, &want))
		require.NotNil(t, e.Consent)
		require.Equal(t, want["ad_user_data"], e.Consent.AdUserData)
		require.Equal(t, want["ad_personalization"], e.Consent.AdPersonalization)
	}
}

// findEvent returns the one accepted event with this transaction id and name.
func findEvent(t *testing.T, events []ga4test.Event, tid, name string) ga4test.Event {
	t.Helper()
	i := slices.IndexFunc(events, func(e ga4test.Event) bool { return e.TransactionID == tid && e.Name == name })
	require.GreaterOrEqual(t, i, 0, "no event %s with transaction_id %q reached the emulator", name, tid)
	return events[i]
}

func requireContainsAll(t *testing.T, name, text string, subs []string) {
	t.Helper()
	for _, s := range subs {
		require.Contains(t, strings.ToLower(text), strings.ToLower(s), "%s: error must mention %q", name, s)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
