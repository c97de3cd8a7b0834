package poller_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

func TestDrainGatesRowsBeforeSending(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := b.enqueue(t, conversion("T-good"))
	unknown := conversion("T-unknown-consent")
	unknown.AnalyticsStorage = ""
	unknownID := b.enqueue(t, unknown)
	denied := conversion("T-denied")
	denied.AnalyticsStorage = outbox.ConsentDenied
	deniedID := b.enqueue(t, denied)
	old := conversion("T-expired")
	old.SessionEventAt = time.Now().Add(-73 * time.Hour)
	oldID := b.enqueue(t, old)
	noClient := conversion("T-no-client")
	noClient.ClientID = ""
	noClientID := b.enqueue(t, noClient)
	noSession := conversion("T-no-session")
	noSession.SessionID = ""
	noSessionID := b.enqueue(t, noSession)

	stats := b.drain(t)

	require.Equal(t, outbox.StatusDelivered, b.state(t, good).Status)
	require.Equal(t, outbox.StatusDelivered, b.state(t, unknownID).Status, "unknown consent is sent by default")
	require.Equal(t, outbox.StatusDelivered, b.state(t, noSessionID).Status, "a row without session_id is still sent")
	require.Equal(t, rowState{outbox.StatusSkipped, outbox.ReasonConsentDenied, "analytics_storage denied", 1}, b.state(t, deniedID))
	require.Equal(t, outbox.ReasonExpired, b.state(t, oldID).Reason)
	require.Equal(t, outbox.ReasonMissingClientID, b.state(t, noClientID).Reason)
	var sent []string
	for _, r := range b.sender.sentRows() {
		sent = append(sent, r.TransactionID)
	}
	require.ElementsMatch(t, []string{"T-good", "T-unknown-consent", "T-no-session"}, sent)
	require.EqualValues(t, 6, stats.Backlog)
	require.EqualValues(t, 3, stats.Delivered)
	require.EqualValues(t, 3, stats.Skipped)
	require.Equal(t, map[string]int64{outbox.ReasonConsentDenied: 1, outbox.ReasonExpired: 1, outbox.ReasonMissingClientID: 1}, stats.ByReason)
}

func TestDrainConfigSwitches(t *testing.T) {
	t.Parallel()

	t.Run("UnknownConsentDeny", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.cfg.UnknownConsent = "deny"
		c := conversion("T-unknown")
		c.AnalyticsStorage = ""
		id := b.enqueue(t, c)
		b.drain(t)
		require.Equal(t, outbox.ReasonConsentDenied, b.state(t, id).Reason)
		require.Empty(t, b.sender.sentRows())
	})

	t.Run("MissingClientIDGenerate", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.cfg.MissingClientID = "generate"
		c := conversion("T-generate")
		c.ClientID = ""
		id := b.enqueue(t, c)
		b.drain(t)
		st := b.state(t, id)
		require.Equal(t, outbox.StatusDelivered, st.Status)
		require.Equal(t, outbox.ReasonGeneratedClientID, st.Reason)
		sent := b.sender.sentRows()
		require.Len(t, sent, 1)
		require.True(t, sent[0].GeneratedClientID)
		require.Regexp(t, `^[1-9][0-9]+\.[1-9][0-9]+$`, sent[0].ClientID)
		var stored *string
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT client_id FROM ga4_outbox.events WHERE id = $1`, id).Scan(&stored))
		require.Nil(t, stored, "the raw column keeps what the application captured")
	})
}

func TestDrainRetries(t *testing.T) {
	t.Parallel()
	errUnavailable := errors.New("503 Service Unavailable")

	t.Run("RetryableThenDelivered", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.sender.fn = func(r poller.Row, call int) poller.Result {
			if r.Attempt == 1 {
				return poller.Retry(errUnavailable, 0)
			}
			return poller.Delivered()
		}
		id := b.enqueue(t, conversion("T-retry"))
		stats := b.drain(t)
		require.Equal(t, rowState{outbox.StatusDelivered, "", errUnavailable.Error(), 2}, b.state(t, id), "the last error is kept")
		require.EqualValues(t, 1, stats.Retried)
		require.EqualValues(t, 1, stats.Delivered)
	})

	t.Run("RetryAfterHonoured", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.sender.fn = func(poller.Row, int) poller.Result {
			return poller.Retry(errors.New("429 Too Many Requests"), time.Hour)
		}
		id := b.enqueue(t, conversion("T-429"))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := b.poller(t).Drain(ctx, func(poller.Stats) { cancel() })
		require.ErrorIs(t, err, context.Canceled)
		require.Contains(t, err.Error(), "1 rows still pending")
		var wait float64
		require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT extract(epoch FROM next_attempt_at - updated_at)::float8
			FROM ga4_outbox.events WHERE id = $1`, id).Scan(&wait))
		require.GreaterOrEqual(t, wait, time.Hour.Seconds())
		require.Equal(t, rowState{outbox.StatusPending, "", "429 Too Many Requests", 1}, b.state(t, id))
	})

	t.Run("PermanentFailure", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.sender.fn = func(poller.Row, int) poller.Result {
			return poller.Fail(outbox.ReasonRejected, errors.New("400 Bad Request"))
		}
		id := b.enqueue(t, conversion("T-400"))
		b.drain(t)
		require.Equal(t, rowState{outbox.StatusFailed, outbox.ReasonRejected, "400 Bad Request", 1}, b.state(t, id))
	})

	t.Run("MaxAttemptsFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.cfg.MaxAttempts = 3
		b.sender.fn = func(poller.Row, int) poller.Result { return poller.Retry(errUnavailable, 0) }
		id := b.enqueue(t, conversion("T-max"))
		stats := b.drain(t)
		require.Equal(t, rowState{outbox.StatusFailed, outbox.ReasonMaxAttempts, errUnavailable.Error(), 3}, b.state(t, id))
		require.Len(t, b.sender.sentRows(), 3)
		require.EqualValues(t, 2, stats.Retried)
		require.EqualValues(t, 1, stats.Failed)
	})

	t.Run("SenderOmitsReasonAndResults", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.sender.fn = func(r poller.Row, _ int) poller.Result {
			if r.TransactionID == "T-a" {
				return poller.Result{Status: outbox.StatusSkipped, Error: "bad"}
			}
			return poller.Result{Status: outbox.StatusFailed}
		}
		a, c := b.enqueue(t, conversion("T-a")), b.enqueue(t, conversion("T-c"))
		b.drain(t)
		require.Equal(t, outbox.ReasonInvalid, b.state(t, a).Reason)
		require.Equal(t, outbox.ReasonRejected, b.state(t, c).Reason)
	})
}

// A worker that dies after claiming: when its lease expires another worker
// delivers the rows, and the dead worker's late result cannot overwrite it
// nor count as its own.
func TestLeaseExpiryTakeover(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.fill(t, 5)
	b.cfg.Lease = time.Minute
	dead := b.poller(t)
	claimed, err := dead.Claim(context.Background())
	require.NoError(t, err)
	require.Equal(t, 5, claimed.Len())

	// Before the lease expires nobody else can claim the rows.
	other := b.poller(t)
	none, err := other.Claim(context.Background())
	require.NoError(t, err)
	require.Zero(t, none.Len())

	b.cfg.Now = func() time.Time { return time.Now().Add(time.Minute + time.Second) }
	stats := b.drain(t)
	require.EqualValues(t, 5, stats.Delivered)
	require.Equal(t, 5, b.countStatus(t, outbox.StatusDelivered))

	lost, err := dead.MarkAll(context.Background(), claimed, poller.Fail(outbox.ReasonRejected, errors.New("late")))
	require.NoError(t, err)
	require.Equal(t, 5, lost)
	require.Equal(t, 5, b.countStatus(t, outbox.StatusDelivered))

	// A worker that sends after its lease expired does not count the rows
	// it could not mark as its own deliveries (the other worker's are).
	dead.Process(context.Background(), claimed)
	st := dead.Stats()
	require.EqualValues(t, 5, st.Claimed)
	require.EqualValues(t, 5, st.LeaseLost)
	require.Zero(t, st.Delivered)
}

func TestPollersDeliverExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{2, 4} {
		t.Run(map[int]string{2: "Two", 4: "Four"}[workers], func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			const rows = 10_000
			b.fill(t, rows)
			var mu sync.Mutex
			seen := make(map[string]int, rows)
			sender := senderFunc(func(_ context.Context, rs []poller.Row) []poller.Result {
				out := make([]poller.Result, len(rs))
				mu.Lock()
				for i, r := range rs {
					seen[r.TransactionID]++
					out[i] = poller.Delivered()
				}
				mu.Unlock()
				return out
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			var wg sync.WaitGroup
			total := make([]int64, workers)
			for w := range workers {
				p, err := poller.New(b.pool, sender, &poller.Config{BatchSize: 250})
				require.NoError(t, err)
				wg.Go(func() {
					stats, err := p.Drain(ctx, nil)
					require.NoError(t, err)
					total[w] = stats.Delivered
				})
			}
			wg.Wait()
			require.Len(t, seen, rows)
			for id, n := range seen {
				require.Equal(t, 1, n, "transaction %s sent %d times", id, n)
			}
			var sum int64
			for _, n := range total {
				sum += n
			}
			require.EqualValues(t, rows, sum)
			require.Equal(t, rows, b.countStatus(t, outbox.StatusDelivered))
		})
	}
}

func TestClaimOrderNearestDeadlineFirst(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.BatchSize = 1
	b.cfg.InFlightBatches = 1 // sends then follow the claim order
	now := time.Now()
	for _, c := range []struct {
		tx      string
		session time.Duration // session start before now; 0 = no session id
	}{{"T-none", 0}, {"T-fresh", time.Minute}, {"T-oldest", 20 * time.Hour}, {"T-mid", time.Hour}} {
		b.enqueue(t, sessionConversion(c.tx, now, c.session))
	}
	b.drain(t)
	require.Equal(t, []string{"T-oldest", "T-mid", "T-fresh", "T-none"}, b.sender.sentTxIDs())
}

// TestLongErrorsAreClipped: a sender's error longer than MaxErrorBytes is
// stored cut at a character boundary (the schema refuses longer ones), and
// the row is still marked.
func TestLongErrorsAreClipped(t *testing.T) {
	t.Parallel()
	b := setup(t)
	long := "bad: " + strings.Repeat("é", 3000) // 6,005 bytes, two per "é"
	b.sender.fn = func(poller.Row, int) poller.Result { return poller.Skip(outbox.ReasonInvalid, long) }
	id := b.enqueue(t, conversion("T-long"))
	b.drain(t)
	s := b.state(t, id)
	require.Equal(t, "skipped", s.Status)
	require.Equal(t, long[:poller.MaxErrorBytes-1], s.LastError, "cut before the split character")
	require.True(t, utf8.ValidString(s.LastError))
}

// TestClaimMergesRetriedRowsByDeadline: rows retried before (migration
// 000008's second claim part) and rows never claimed are claimed together,
// nearest deadline first.
func TestClaimMergesRetriedRowsByDeadline(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	now := time.Now()
	withSession := func(tx string, before time.Duration) outbox.Conversion { return sessionConversion(tx, now, before) }
	b.enqueue(t, withSession("T-oldest-retried", 20*time.Hour))
	b.enqueue(t, withSession("T-late-retried", time.Minute))
	p := b.poller(t)
	batch, err := p.Claim(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, batch.Len())
	_, err = p.MarkAll(ctx, batch, poller.Retry(errors.New("HTTP 503"), time.Hour))
	require.NoError(t, err)
	var sameTime bool
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT bool_and(retry_at = next_attempt_at AND retry_at > now() + interval '50 minutes')
		FROM ga4_outbox.events`).Scan(&sameTime))
	require.True(t, sameTime, "a retry records its due time in retry_at")
	_, err = b.pool.Exec(ctx, `UPDATE ga4_outbox.events SET next_attempt_at = now() - interval '1 second', retry_at = now() - interval '1 second'`)
	require.NoError(t, err)
	b.enqueue(t, withSession("T-mid", time.Hour))
	b.enqueue(t, withSession("T-none", 0))

	b.cfg.BatchSize = 1
	b.cfg.InFlightBatches = 1 // sends then follow the claim order
	b.drain(t)
	require.Equal(t, []string{"T-oldest-retried", "T-mid", "T-late-retried", "T-none"}, b.sender.sentTxIDs())
}

// TestClaimSkipsRowsInBackoff: rows waiting out a backoff are not read by
// the claim (a GA outage leaves many of them, and an idle poller claims
// every few milliseconds while the application enqueues). The claim of the
// three new rows reads a few index and table pages, not the 20,000 rows in
// backoff (~500 table pages).
func TestClaimSkipsRowsInBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.fill(t, 20_000)
	b.cfg.BatchSize = 5000
	p := b.poller(t)
	for {
		batch, err := p.Claim(ctx)
		require.NoError(t, err)
		if batch.Len() == 0 {
			break
		}
		_, err = p.MarkAll(ctx, batch, poller.Retry(errors.New("HTTP 503"), time.Hour))
		require.NoError(t, err)
	}
	for i := range 3 {
		b.enqueue(t, conversion(fmt.Sprintf("T-new-%d", i)))
	}
	_, err := b.pool.Exec(ctx, `VACUUM ANALYZE ga4_outbox.events`)
	require.NoError(t, err)

	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	var plan []struct {
		Plan map[string]any `json:"Plan"`
	}
	var raw []byte
	require.NoError(t, tx.QueryRow(ctx, `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) `+poller.SQLClaim,
		claimArgs(1000)...).Scan(&raw))
	require.NoError(t, json.Unmarshal(raw, &plan))
	top := plan[0].Plan
	require.EqualValues(t, 3, top["Actual Rows"], "the three new rows are claimed")
	pages := top["Shared Hit Blocks"].(float64) + top["Shared Read Blocks"].(float64)
	require.Less(t, pages, 100.0, "pages read by the claim")
}

// claimArgs are poller.SQLClaim's arguments for a claim of up to limit rows
// now, leased for a minute, every part from the start of its part of the
// index, no behind part.
func claimArgs(limit int) []any {
	return []any{time.Now(), limit, time.Now().Add(time.Minute), "test", "9b2f6f0e-5d4c-4c1e-8a7b-2f1d3c4b5a69",
		nil, nil, nil, nil, nil, nil}
}

// TestClaimIsHOTWhereThePageHasRoom: the claim changes no indexed column,
// so PostgreSQL keeps each leased row version on its page without index
// entries (a HOT update) when the page has room: with fillfactor 50 (the
// switch for large backlogs in docs/OPERATIONS.md "Tuning") at least 80 %
// of the claims of a backlog written in bulk are HOT, at the default 100
// at most 10 % (the pages are full). Counted in the claiming transaction
// (pg_stat_xact_user_tables).
func TestClaimIsHOTWhereThePageHasRoom(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fillfactor     int
		minHOT, maxHOT float64
	}{{50, 0.8, 1}, {100, 0, 0.1}} {
		t.Run(fmt.Sprintf("fillfactor %d", tc.fillfactor), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ctx := context.Background()
			_, err := b.pool.Exec(ctx, fmt.Sprintf(`ALTER TABLE ga4_outbox.events SET (fillfactor = %d)`, tc.fillfactor))
			require.NoError(t, err)
			b.fill(t, 2000)
			tx, err := b.pool.Begin(ctx)
			require.NoError(t, err)
			defer tx.Rollback(ctx)
			tag, err := tx.Exec(ctx, poller.SQLClaim, claimArgs(2000)...)
			require.NoError(t, err)
			require.EqualValues(t, 2000, tag.RowsAffected())
			var upd, hot float64
			require.NoError(t, tx.QueryRow(ctx, `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables
				WHERE relid = 'ga4_outbox.events'::regclass`).Scan(&upd, &hot))
			require.EqualValues(t, 2000, upd)
			require.GreaterOrEqual(t, hot/upd, tc.minHOT, "share of HOT claims")
			require.LessOrEqual(t, hot/upd, tc.maxHOT, "share of HOT claims")
		})
	}
}

// TestClaimIsPlannedEachTime: the claim and the mark are not cached
// prepared statements (whose generic plan, made while the table was small,
// kept scanning the whole table after it had grown): after a dozen claims
// and marks on a one-connection pool, that session holds neither.
func TestClaimAndMarkArePlannedEachTime(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	cfg := b.pool.Config()
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	b.fill(t, 12)
	b.cfg.BatchSize = 1
	p, err := poller.New(pool, b.sender, b.cfg)
	require.NoError(t, err)
	for range 12 {
		batch, err := p.Claim(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, batch.Len())
		_, err = p.MarkAll(ctx, batch, poller.Delivered())
		require.NoError(t, err)
	}
	var stmts int // the patterns are split so that this query does not match itself
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM pg_prepared_statements
		WHERE statement LIKE '%FOR UPDATE ' || 'SKIP LOCKED%' OR statement LIKE '%unnest($1::' || 'bigint[]%'`).Scan(&stmts))
	require.Zero(t, stmts)
}
