package main

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// opsFixture is a database holding one row in each interesting state,
// keyed by transaction id:
//
//	p1 pending, due          p2 pending, backing off after an HTTP 503
//	d1 delivered             f1 failed/rejected (today)
//	f2 failed/max_attempts (occurred 3 days ago)
//	s1 skipped/invalid       s2 skipped/consent_denied
type opsFixture struct {
	url  string
	pool *pgxpool.Pool
	ids  map[string]int64
	env  map[string]string
}

func newOpsFixture(t *testing.T) *opsFixture {
	t.Helper()
	f := &opsFixture{url: pgtest.URL(t), ids: map[string]int64{}}
	f.env = map[string]string{"DATABASE_URL": f.url}
	ctx := context.Background()
	pool, err := dbconn.OpenPool(ctx, f.url, 2)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	f.pool = pool
	now := time.Now()
	for _, tx := range []string{"p1", "p2", "d1", "f1", "f2", "s1", "s2"} {
		occurred := now.Add(-time.Hour)
		if tx == "f2" {
			occurred = now.Add(-72 * time.Hour)
		}
		res, err := outbox.Enqueue(ctx, pool, outbox.Conversion{EventName: "purchase", TransactionID: tx,
			Value: "10.00", Currency: "EUR", ClientID: "1.2", OccurredAt: occurred, Source: "test"})
		require.NoError(t, err)
		f.ids[tx] = res.ID
	}
	f.set(t, "p2", `status = 'pending', attempts = 2, next_attempt_at = now() + interval '5 minutes', retry_at = now() + interval '5 minutes', last_error = 'HTTP 503 from /mp/collect'`)
	f.set(t, "d1", `status = 'delivered', attempts = 1, delivered_at = now()`)
	f.set(t, "f1", `status = 'failed', reason = 'rejected', attempts = 1, last_error = 'HTTP 400: bad request'`)
	f.set(t, "f2", `status = 'failed', reason = 'max_attempts', attempts = 12, last_error = 'dial tcp: connection refused'`)
	f.set(t, "s1", `status = 'skipped', reason = 'invalid', last_error = 'VALUE_INVALID events[0].params.currency'`)
	f.set(t, "s2", `status = 'skipped', reason = 'consent_denied'`)
	return f
}

func (f *opsFixture) set(t *testing.T, tx, assignments string) {
	t.Helper()
	_, err := f.pool.Exec(context.Background(), `UPDATE ga4_outbox.events SET `+assignments+` WHERE transaction_id = $1`, tx)
	require.NoError(t, err)
}

// states returns status/reason/attempts/last_error per transaction id.
func (f *opsFixture) states(t *testing.T) map[string]string {
	t.Helper()
	rows, err := f.pool.Query(context.Background(), `
SELECT transaction_id, status || '/' || COALESCE(reason, '') || '/' || attempts || '/' || COALESCE(last_error, '')
  FROM ga4_outbox.events`)
	require.NoError(t, err)
	out := map[string]string{}
	for rows.Next() {
		var tx, s string
		require.NoError(t, rows.Scan(&tx, &s))
		out[tx] = s
	}
	require.NoError(t, rows.Err())
	return out
}

func TestStatusTable(t *testing.T) {
	t.Parallel()
	f := newOpsFixture(t)
	r := runCmd(t, f.env, "status")
	require.Equal(t, 0, r.code, r.stderr)
	t.Log("\n" + r.stdout)
	require.Contains(t, r.stdout, "Outbox rows: 7")
	require.Regexp(t, `\|\s*failed\s*\|\s*max_attempts\s*\|\s*1\s*\|`, r.stdout)
	require.Regexp(t, `\|\s*pending\s*\|\s*-\s*\|\s*2\s*\|`, r.stdout)
	require.Contains(t, r.stdout, "Pending: 2 (due now 1, leased 0, backing off 1); oldest is ")
	next := r.stdout[strings.Index(r.stdout, "Next attempts:"):strings.Index(r.stdout, "Last errors:")]
	require.Regexp(t, `\|\s*p1\s*\|\s*0\s*\|\s*now\s*\|`, next)
	require.Regexp(t, `\|\s*p2\s*\|\s*2\s*\|\s*in (4m5\ds|5m0s)\s*\|\s*HTTP 503 from /mp/collect`, next)
	errs := r.stdout[strings.Index(r.stdout, "Last errors:"):]
	for _, want := range []string{"HTTP 400: bad request", "connection refused", "VALUE_INVALID", "HTTP 503"} {
		require.Contains(t, errs, want)
	}
	require.NotContains(t, errs, "d1", "delivered rows are not errors")
}

func TestStatusJSON(t *testing.T) {
	t.Parallel()
	f := newOpsFixture(t)
	r := runCmd(t, f.env, "status", "--format", "json", "--limit", "1")
	require.Equal(t, 0, r.code, r.stderr)
	var st poller.StatusReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &st))
	require.EqualValues(t, 7, st.Total)
	got := map[string]int64{}
	for _, c := range st.ByStatus {
		got[c.Status+"/"+c.Reason] = c.Rows
	}
	require.Equal(t, map[string]int64{"pending/": 2, "delivered/": 1, "failed/rejected": 1,
		"failed/max_attempts": 1, "skipped/invalid": 1, "skipped/consent_denied": 1}, got)
	require.Equal(t, poller.PendingState{Total: 2, Due: 1, BackingOff: 1, OldestAgeSeconds: st.Pending.OldestAgeSeconds}, st.Pending)
	require.Len(t, st.NextAttempts, 1)
	require.Equal(t, "p1", st.NextAttempts[0].TransactionID)
	require.Len(t, st.LastErrors, 1)
}

func TestStatusEmptyMissingSchemaAndBadFlags(t *testing.T) {
	t.Parallel()
	t.Run("empty outbox", func(t *testing.T) {
		r := runCmd(t, map[string]string{"DATABASE_URL": pgtest.URL(t)}, "status")
		require.Equal(t, 0, r.code, r.stderr)
		require.Equal(t, "Outbox rows: 0\n(the outbox is empty)\n", r.stdout)
	})
	t.Run("schema not migrated", func(t *testing.T) {
		r := runCmd(t, map[string]string{"DATABASE_URL": pgtest.EmptyURL(t)}, "status")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "run ga4-outbox migrate up")
	})
	t.Run("bad format", func(t *testing.T) {
		r := runCmd(t, nil, "status", "--format", "xml")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, `--format "xml": must be table or json`)
	})
}

func TestRetrySelectsRows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    func(f *opsFixture) []string
		printed string
		retried []string
	}{
		{"by transaction id", func(*opsFixture) []string { return []string{"--transaction-id", "f1"} },
			"1 rows put back to pending: 1 failed, 0 skipped", []string{"f1"}},
		{"by id", func(f *opsFixture) []string { return []string{"--id", itoa(f.ids["f2"]) + "," + itoa(f.ids["d1"])} },
			"1 rows put back to pending: 1 failed, 0 skipped", []string{"f2"}},
		{"by reason", func(*opsFixture) []string { return []string{"--reason", "max_attempts"} },
			"1 rows put back to pending: 1 failed, 0 skipped", []string{"f2"}},
		{"by time range", func(*opsFixture) []string { return []string{"--since", "24h"} },
			"1 rows put back to pending: 1 failed, 0 skipped", []string{"f1"}},
		{"all failed", func(*opsFixture) []string { return []string{"--all"} },
			"2 rows put back to pending: 2 failed, 0 skipped", []string{"f1", "f2"}},
		{"only skipped with a reason", func(*opsFixture) []string { return []string{"--skipped-reason", "invalid"} },
			"1 rows put back to pending: 0 failed, 1 skipped", []string{"s1"}},
		{"failed and skipped", func(*opsFixture) []string { return []string{"--all", "--skipped-reason", "invalid"} },
			"3 rows put back to pending: 2 failed, 1 skipped", []string{"f1", "f2", "s1"}},
		{"dry run changes nothing", func(*opsFixture) []string { return []string{"--all", "--dry-run"} },
			"2 rows would be put back to pending (dry run): 2 failed, 0 skipped", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newOpsFixture(t)
			before := f.states(t)
			r := runCmd(t, f.env, append([]string{"retry"}, c.args(f)...)...)
			require.Equal(t, 0, r.code, r.stderr)
			require.Equal(t, c.printed+"\n", r.stdout)
			after := f.states(t)
			for tx, was := range before {
				if !contains(c.retried, tx) {
					require.Equal(t, was, after[tx], "%s must not change", tx)
					continue
				}
				lastError := was[strings.LastIndex(was, "/")+1:]
				require.Equal(t, "pending//0/"+lastError, after[tx], "%s: pending, fresh attempts, error kept", tx)
			}
		})
	}
}

func TestRetryRefusesWithoutSelector(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		args []string
		want string
	}{
		"no selector":        {nil, "no rows selected: give --id"},
		"skip reason":        {[]string{"--reason", "invalid"}, `--reason "invalid": must be one of rejected, max_attempts (for skipped rows use --skipped-reason)`},
		"bad skipped reason": {[]string{"--skipped-reason", "nope"}, `--skipped-reason "nope": must be one of consent_denied`},
		"bad id":             {[]string{"--id", "x"}, `--id "x": must be a positive row id`},
		"bad time":           {[]string{"--since", "yesterday"}, `--since "yesterday": must be RFC 3339`},
		"empty range":        {[]string{"--since", "2026-03-02", "--until", "2026-03-01"}, "--since must be before --until"},
	}
	for name, c := range cases {
		r := runCmd(t, nil, append([]string{"retry"}, c.args...)...)
		require.Equal(t, 2, r.code, name)
		require.Contains(t, r.stderr, c.want, name)
	}
}

func TestRetryWakesPollers(t *testing.T) {
	t.Parallel()
	f := newOpsFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "LISTEN "+poller.NotifyChannel)
	require.NoError(t, err)
	r := runCmd(t, f.env, "retry", "--transaction-id", "f1")
	require.Equal(t, 0, r.code, r.stderr)
	n, err := conn.WaitForNotification(ctx)
	require.NoError(t, err, "retry must NOTIFY "+poller.NotifyChannel)
	require.Equal(t, poller.NotifyChannel, n.Channel)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// TestStatusEscapesAndFits: transaction ids and errors carrying control
// characters reach the terminal escaped, and long ones are clipped so the
// table fits in 100 columns; --wide prints them whole.
func TestStatusEscapesAndFits(t *testing.T) {
	t.Parallel()
	f := newOpsFixture(t)
	f.set(t, "p2", `transaction_id = E'p2-\x1b[2J\x1b]0;pwned\x07' || repeat('x', 60),
		last_error = E'HTTP 503\r\n\x1b[31m' || repeat('long error ', 30)`)
	f.set(t, "f1", `last_error = E'HTTP 400: \x1b[1mbold\x1b[0m \u202egnp.exe'`)
	r := runCmd(t, f.env, "status")
	require.Equal(t, 0, r.code, r.stderr)
	t.Log("\n" + r.stdout)
	for _, line := range strings.Split(r.stdout, "\n") {
		require.LessOrEqual(t, utf8.RuneCountInString(line), 100, line)
	}
	for _, c := range r.stdout {
		require.False(t, c != '\n' && (unicode.IsControl(c) || c == '\u202e'), "raw %U", c)
	}
	require.Contains(t, r.stdout, `p2-\x1b[2J\x1b]0;pwned\a`)
	require.Contains(t, r.stdout, `HTTP 400: \x1b[1mbold\x1b[0m \u202egnp.exe`)

	wide := runCmd(t, f.env, "status", "--wide")
	require.Equal(t, 0, wide.code, wide.stderr)
	require.Contains(t, wide.stdout, strings.Repeat("long error ", 29)+"long error")
}
