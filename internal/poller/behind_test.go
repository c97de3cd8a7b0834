package poller_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// behindSetup is cursorSetup with 30 more rows (T-31..T-60, later
// deadlines) and a poller that has claimed from the head once and from its
// cursor after a check once: T-1..T-20 are delivered, the cursor is after
// T-20.
func behindSetup(t *testing.T) (*bundle, *poller.Poller, func(time.Duration)) {
	t.Helper()
	b, p, advance := cursorSetup(t)
	_, err := b.pool.Exec(context.Background(), `
		INSERT INTO ga4_outbox.events (transaction_id, value, currency, client_id, session_id, consent_analytics_storage)
		SELECT 'T-' || i, 10, 'EUR', i || '.1700000000', (extract(epoch FROM now())::bigint + 60 * i)::text, 'granted'
		  FROM generate_series(31, 60) AS i`)
	require.NoError(t, err)
	claimMark(t, b, p, "T-1")
	advance(rewindMax + time.Second)
	claimMark(t, b, p, "T-11")
	require.EqualValues(t, 1, p.HeadClaims(), "the check found nothing behind the cursor")
	return b, p, advance
}

const rewindMax = 30 * time.Second

// claimMark claims a batch, checks its first row and delivers it.
func claimMark(t *testing.T, b *bundle, p *poller.Poller, first string) {
	t.Helper()
	batch, ids := claimTx(t, b, p)
	require.NotEmpty(t, ids)
	require.Equal(t, first, ids[0])
	_, err := p.MarkAll(context.Background(), batch, poller.Delivered())
	require.NoError(t, err)
}

// TestCursorChecksInsteadOfHeadClaims: the claim cursor's checks
// (cursor.go, behind.go) find the rows that became claimable before the
// cursor through the primary key, and the claim goes back to the head only
// when a check cannot vouch for the rows it did not read, or
// rewindCleanMax (5 minutes) after the last head claim.
func TestCursorChecksInsteadOfHeadClaims(t *testing.T) {
	t.Parallel()

	t.Run("NothingBehind", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		advance(rewindMax + time.Second)
		claimMark(t, b, p, "T-21")
		advance(rewindMax + time.Second)
		claimMark(t, b, p, "T-31")
		require.EqualValues(t, 1, p.HeadClaims(), "no head claim: no row arrived, no other lease")
	})

	t.Run("RowEnqueuedBehind", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		b.enqueue(t, sessionConversion("T-urgent", time.Now(), 23*time.Hour))
		advance(time.Second)
		_, ids := claimTx(t, b, p)
		require.Contains(t, ids, "T-urgent", "its deadline sorts before the cursor")
		require.Len(t, ids, 10)
		require.EqualValues(t, 1, p.HeadClaims(), "read by its id")
	})

	t.Run("RowEnqueuedAfterCursor", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		// A session that started two minutes ago: its deadline sorts after
		// T-30's and before T-31's, after the cursor.
		b.enqueue(t, sessionConversion("T-new", time.Now(), 2*time.Minute))
		advance(rewindMax + time.Second)
		claimMark(t, b, p, "T-21")
		_, ids := claimTx(t, b, p)
		require.Contains(t, ids, "T-new", "claimed after T-30, in deadline order")
		require.NotContains(t, ids, "T-40")
		require.EqualValues(t, 1, p.HeadClaims())
	})

	t.Run("RowWithoutDeadline", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		b.enqueue(t, sessionConversion("T-nosession", time.Now(), 0))
		for _, first := range []string{"T-21", "T-31", "T-41", "T-51"} {
			advance(time.Second)
			claimMark(t, b, p, first)
		}
		advance(time.Second)
		_, ids := claimTx(t, b, p)
		require.Equal(t, []string{"T-nosession"}, ids, "rows without a deadline come after every dated row")
		require.EqualValues(t, 1, p.HeadClaims())
	})

	// T-late takes its id before T-later and commits after checks saw
	// T-later, the second of them gap after the first: within commitLag
	// the next check still reads its id; after it, only the arrived sum
	// shows the row, and the claim reads from the head.
	for name, c := range map[string]struct {
		gap   time.Duration
		heads int64
	}{"RowCommittedLate": {time.Second, 1}, "RowCommittedAfterCommitLag": {6 * time.Second, 2}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b, p, advance := cursorSetup(t)
			ctx := context.Background()
			claimMark(t, b, p, "T-1")
			tx, err := b.pool.Begin(ctx)
			require.NoError(t, err)
			defer func() { _ = tx.Rollback(ctx) }()
			_, err = outbox.Enqueue(ctx, tx, sessionConversion("T-late", time.Now(), 23*time.Hour))
			require.NoError(t, err)
			b.enqueue(t, sessionConversion("T-later", time.Now(), 2*time.Minute))
			advance(time.Second)
			claimMark(t, b, p, "T-11") // a check sees T-later
			advance(c.gap)
			claimMark(t, b, p, "T-21")
			require.NoError(t, tx.Commit(ctx))
			advance(time.Second)
			_, ids := claimTx(t, b, p)
			require.Contains(t, ids, "T-late", "its deadline is the nearest")
			require.EqualValues(t, c.heads, p.HeadClaims())
		})
	}

	t.Run("RowRequeued", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		_, err := b.pool.Exec(context.Background(), `UPDATE ga4_outbox.events SET status = 'failed', reason = 'rejected'
			WHERE transaction_id = 'T-1'`)
		require.NoError(t, err)
		res, err := poller.Requeue(context.Background(), b.pool, time.Now(), poller.RequeueFilter{TransactionIDs: []string{"T-1"}})
		require.NoError(t, err)
		require.EqualValues(t, 1, res.Failed)
		advance(time.Second)
		_, ids := claimTx(t, b, p)
		require.Contains(t, ids, "T-1", "the requeued row sorts first")
		require.EqualValues(t, 2, p.HeadClaims())
	})

	t.Run("OtherWorkersLease", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		other := b.poller(t) // claims T-21..T-30 and keeps them
		_, ids := claimTx(t, b, other)
		require.Equal(t, "T-21", ids[0])
		advance(time.Second)
		claimMark(t, b, p, "T-31")
		require.EqualValues(t, 2, p.HeadClaims(), "another worker's lease may expire behind the cursor")
	})

	t.Run("AtMostFiveMinutesApart", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		advance(4 * time.Minute)
		claimMark(t, b, p, "T-21")
		require.EqualValues(t, 1, p.HeadClaims())
		advance(time.Minute)
		claimMark(t, b, p, "T-31")
		require.EqualValues(t, 2, p.HeadClaims(), "5 minutes after the last head claim")
	})
}

// TestClaimDurationByStart: ga4_outbox_claim_duration_seconds tells the
// claims from the cursor, after a check, and from the head apart.
func TestClaimDurationByStart(t *testing.T) {
	t.Parallel()
	b, _, advance := cursorSetup(t)
	reg := prometheus.NewPedanticRegistry()
	b.cfg.Registerer = reg
	p := b.poller(t)
	claimMark(t, b, p, "T-1")  // the head: a new poller
	claimMark(t, b, p, "T-11") // the cursor
	advance(time.Second)
	claimMark(t, b, p, "T-21") // the cursor after a check
	got := gathered(t, reg)
	for _, start := range []string{"head", "cursor", "check"} {
		require.EqualValues(t, 1, got["ga4_outbox_claim_duration_seconds{start="+start+"}"], start)
	}
}
