package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// The fixture: a window of three UTC days, two currencies, three sources,
// every bucket, and edge times exactly at the 24 h (attributable) and 24 h
// + 1 s (late) send deadlines, the 30 min session timeout, and a delivery
// exactly 72 h after the session start. Every expected number in the tests
// is worked out by hand from this table.
var (
	since   = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	until   = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	fixedAt = time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC)

	s1 = time.Unix(1772359200, 0).UTC() // 2026-03-01 10:00
	s2 = time.Unix(1772442000, 0).UTC() // 2026-03-02 09:00
	s3 = time.Unix(1772568000, 0).UTC() // 2026-03-03 20:00
)

const (
	sid1 = "1772359200"
	sid2 = "1772442000"
	sid3 = "1772568000"
)

// fixtureRow is one outbox row; zero fields take the column defaults.
type fixtureRow struct {
	tx, value, currency, source, client, session string
	sessionAt, occurred, delivered, created      time.Time
	status, reason, lastError, event             string
	attempts                                     int
}

func m(d time.Duration) time.Duration { return d * time.Minute }

func fixtureRows() []fixtureRow {
	h := time.Hour
	return []fixtureRow{
		// Day 1.
		{tx: "A1", value: "100.00", currency: "EUR", source: "checkout", client: "123.456", session: sid1,
			sessionAt: s1.Add(m(5)), occurred: s1.Add(m(6)), delivered: s1.Add(m(7)), status: "delivered", attempts: 1},
		// Exactly at both limits: business time = start + 30 min, sent at start + 24 h.
		{tx: "A2", value: "50.50", currency: "EUR", source: "webhook", client: "GA1.1.111.222", session: sid1,
			occurred: s1.Add(m(30)), delivered: s1.Add(24 * h), status: "delivered", attempts: 3, lastError: "HTTP 503"},
		{tx: "L1", value: "20.00", currency: "EUR", source: "webhook", client: "123.456", session: sid1,
			occurred: s1.Add(m(40)), delivered: s1.Add(m(41)), status: "delivered", attempts: 1},
		// One second past the 24 h send deadline.
		{tx: "L2", value: "30.00", currency: "EUR", source: "checkout", client: "123.456", session: sid1,
			sessionAt: s1.Add(m(10)), occurred: s1.Add(m(10)), delivered: s1.Add(24*h + time.Second), status: "delivered", attempts: 1},
		{tx: "M1", value: "40.00", currency: "EUR", source: "webhook", client: "123.456", session: "",
			occurred: s1.Add(2 * h), delivered: s1.Add(2*h + m(1)), status: "delivered", attempts: 1},
		{tx: "M2", value: "25.00", currency: "USD", source: "webhook", client: "123.456", session: "1772359200000",
			occurred: s1.Add(3 * h), delivered: s1.Add(3*h + m(2)), status: "delivered", attempts: 1},
		{tx: "C1", value: "10.00", currency: "EUR", source: "backfill", client: "", session: sid1,
			occurred: s1.Add(m(1)), status: "skipped", reason: "missing_client_id"},
		{tx: "C2", value: "15.00", currency: "USD", source: "backfill", client: "user@example.com", session: sid1,
			occurred: s1.Add(4 * h), delivered: s1.Add(4*h + m(5)), status: "delivered", attempts: 1},
		{tx: "D1", value: "60.00", currency: "EUR", source: "checkout", client: "123.456", session: sid1,
			occurred: s1.Add(m(2)), status: "skipped", reason: "consent_denied"},
		// Day 2: session ids given as GS2 and GS1 cookie values (recovered).
		{tx: "A3", value: "200.00", currency: "USD", source: "checkout", client: "123.456",
			session:   "GS2.1.s1772442000$o3$g1$t1772442100$j0$l0$h0",
			sessionAt: s2.Add(m(1)), occurred: s2.Add(m(2)), delivered: s2.Add(m(3)), status: "delivered", attempts: 1},
		{tx: "A4", value: "99.99", currency: "USD", source: "checkout", client: "123.456",
			session:   "GS1.1.1772442000.4.1.1772442100.0.0.0",
			sessionAt: s2.Add(m(1)), occurred: s2.Add(m(2)), delivered: s2.Add(m(5)), status: "delivered", attempts: 1},
		{tx: "I1", value: "5.00", currency: "USD", source: "webhook", client: "123.456", session: sid2,
			occurred: s2.Add(h), status: "skipped", reason: "invalid"},
		{tx: "U1", value: "7.00", currency: "USD", source: "webhook", client: "123.456", session: sid2,
			occurred: s2.Add(h), status: "skipped", reason: "unknown_property"},
		{tx: "E1", value: "12.00", currency: "EUR", source: "backfill", client: "123.456", session: sid2,
			occurred: s2, status: "skipped", reason: "expired"},
		{tx: "F1", value: "33.00", currency: "EUR", source: "checkout", client: "123.456", session: sid2,
			occurred: s2.Add(2 * h), status: "failed", reason: "rejected", attempts: 1, lastError: "HTTP 400: bad request"},
		{tx: "F2", value: "17.00", currency: "EUR", source: "webhook", client: "123.456", session: sid2,
			occurred: s2.Add(3 * h), status: "failed", reason: "max_attempts", attempts: 12, lastError: "HTTP 503"},
		// Day 3.
		{tx: "P1", value: "45.00", currency: "EUR", source: "checkout", client: "123.456", session: sid3,
			occurred: s3.Add(m(1)), created: fixedAt.Add(-m(30)), status: "pending"},
		{tx: "P2", value: "55.00", currency: "USD", source: "webhook", client: "123.456", session: sid3,
			occurred: s3.Add(m(2)), created: fixedAt.Add(-2 * h), status: "pending", attempts: 2, lastError: "dial tcp: i/o timeout"},
		// Exactly stuck_after old: not yet stuck. No value (a lead).
		{tx: "P3", event: "generate_lead", currency: "EUR", source: "webhook", client: "123.456", session: sid3,
			occurred: s3.Add(m(3)), created: fixedAt.Add(-h), status: "pending"},
		// Delivered exactly 72 h after the session started.
		{tx: "L3", value: "80.00", currency: "USD", source: "backfill", client: "123.456", session: sid3,
			sessionAt: s3.Add(m(1)), occurred: s3.Add(m(1)), delivered: s3.Add(72 * h), status: "delivered", attempts: 1},
		{tx: "B1", value: "11.00", currency: "EUR", source: "checkout", client: "123.456", session: sid3,
			sessionAt: s3.Add(-m(1)), occurred: s3.Add(m(2)), delivered: s3.Add(m(3)), status: "delivered", attempts: 1},
		// Outside the window: one second before since, exactly at until.
		{tx: "X1", value: "1000.00", currency: "EUR", source: "checkout", client: "123.456", session: sid1,
			occurred: since.Add(-time.Second), delivered: since, status: "delivered", attempts: 1},
		{tx: "X2", value: "1000.00", currency: "USD", source: "checkout", client: "123.456", session: sid3,
			occurred: until, delivered: until.Add(m(1)), status: "delivered", attempts: 1},
	}
}

const insertRow = `
INSERT INTO ga4_outbox.events (event_name, transaction_id, value, currency, source, client_id, session_id,
  session_event_at, occurred_at, delivered_at, created_at, status, reason, attempts, last_error)
VALUES (coalesce(nullif($1, ''), 'purchase'), $2, nullif($3, '')::numeric, nullif($4, ''), nullif($5, ''),
  nullif($6, ''), nullif($7, ''), $8, $9, $10, coalesce($11, now()), $12, nullif($13, ''), $14, nullif($15, ''))`

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// insertFixture writes rows through e.
func insertFixture(t testing.TB, e execer, rows []fixtureRow) {
	t.Helper()
	ctx := context.Background()
	for _, r := range rows {
		_, err := e.Exec(ctx, insertRow, r.event, r.tx, r.value, r.currency, r.source, r.client, r.session,
			nullTime(r.sessionAt), r.occurred, nullTime(r.delivered), nullTime(r.created), r.status, r.reason,
			r.attempts, r.lastError)
		require.NoError(t, err, "insert %s", r.tx)
	}
}

// insertOrders creates the application's orders table and its rows.
func insertOrders(t testing.TB, e execer) {
	t.Helper()
	ctx := context.Background()
	_, err := e.Exec(ctx, `CREATE TABLE public.orders (id text, total numeric, cur text, paid_at timestamptz)`)
	require.NoError(t, err)
	_, err = e.Exec(ctx, `INSERT INTO public.orders VALUES
	  ('A1', 100.00, 'EUR', '2026-03-01 10:06Z'), ('A3', 200.00, 'USD', '2026-03-02 09:02Z'),
	  ('M1', 40.0, 'EUR', '2026-03-01 12:00Z'), ('A4', 99.90, 'USD', '2026-03-02 09:02Z'),
	  ('M2', 25.00, 'EUR', '2026-03-01 13:00Z'), ('O1', 70.00, 'EUR', '2026-03-01 15:00Z'),
	  ('O2', 30.00, 'USD', '2026-03-02 15:00Z'), ('O3', 5.00, 'EUR', '2026-03-03 15:00Z'),
	  ('O4', 9.00, 'EUR', '2026-03-05 15:00Z')`)
	require.NoError(t, err)
}

const ordersQuery = `SELECT id AS transaction_id, total AS value, cur AS currency, paid_at AS occurred_at, refunded
FROM public.orders WHERE paid_at >= $1 AND paid_at < $2;`

// execer is what the fixture writes through: a pgx.Tx or a pool.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}
