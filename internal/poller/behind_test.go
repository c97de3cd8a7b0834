package poller_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

// behindSetup is cursorSetup with 30 more rows (T-31..T-60, later
// deadlines) and a poller that has made its second head claim from an
// active cursor (the first that records the row counts): T-1..T-20 are
// delivered, the cursor is after T-20.
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
	require.EqualValues(t, 2, p.HeadClaims(), "both from the head: the first, and the periodic one")
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

// TestCursorPutsOffHeadClaims: the periodic head claim is put off while
// the row counts show that no row can be behind the cursor, and happens
// when one can, or rewindCleanMax (5 minutes) after the last.
func TestCursorPutsOffHeadClaims(t *testing.T) {
	t.Parallel()

	t.Run("NothingBehind", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		advance(rewindMax + time.Second)
		claimMark(t, b, p, "T-21")
		advance(rewindMax + time.Second)
		claimMark(t, b, p, "T-31")
		require.EqualValues(t, 2, p.HeadClaims(), "no head claim: no row arrived, no other lease")
	})

	t.Run("RowEnqueued", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		b.enqueue(t, sessionConversion("T-urgent", time.Now(), 23*time.Hour))
		advance(rewindMax + time.Second)
		_, ids := claimTx(t, b, p)
		require.Contains(t, ids, "T-urgent")
		require.EqualValues(t, 3, p.HeadClaims())
	})

	t.Run("RowRequeued", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		_, err := b.pool.Exec(context.Background(), `UPDATE ga4_outbox.events SET status = 'failed', reason = 'rejected'
			WHERE transaction_id = 'T-1'`)
		require.NoError(t, err)
		res, err := poller.Requeue(context.Background(), b.pool, time.Now(), poller.RequeueFilter{TransactionIDs: []string{"T-1"}})
		require.NoError(t, err)
		require.EqualValues(t, 1, res.Failed)
		advance(rewindMax + time.Second)
		_, ids := claimTx(t, b, p)
		require.Contains(t, ids, "T-1", "the requeued row sorts first")
		require.EqualValues(t, 3, p.HeadClaims())
	})

	t.Run("OtherWorkersLease", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		other := b.poller(t) // claims T-21..T-30 and keeps them
		_, ids := claimTx(t, b, other)
		require.Equal(t, "T-21", ids[0])
		advance(rewindMax + time.Second)
		claimMark(t, b, p, "T-31")
		require.EqualValues(t, 3, p.HeadClaims(), "another worker's lease may expire behind the cursor")
	})

	t.Run("AtMostFiveMinutesApart", func(t *testing.T) {
		t.Parallel()
		b, p, advance := behindSetup(t)
		advance(4 * time.Minute)
		claimMark(t, b, p, "T-21")
		require.EqualValues(t, 2, p.HeadClaims())
		advance(time.Minute)
		claimMark(t, b, p, "T-31")
		require.EqualValues(t, 3, p.HeadClaims(), "5 minutes after the last head claim")
	})
}
