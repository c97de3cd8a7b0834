package poller_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

// The claim cursor (cursor.go) must not delay rows that become claimable
// before it. Each test drives one poller whose claims come back full (so
// it claims from its cursor) on a clock the test moves.

// cursorSetup fills 30 rows, sessions one minute apart (T-1 has the
// nearest deadline), and returns a poller claiming 10 at a time on a clock
// moved by the returned func. The clock starts an hour ahead, so that
// every row the test enqueues is due.
func cursorSetup(t *testing.T) (*bundle, *poller.Poller, func(time.Duration)) {
	t.Helper()
	b := setup(t)
	b.cfg.BatchSize = 10
	b.cfg.Lease = time.Minute
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.Add(time.Hour).UnixNano())
	b.cfg.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	_, err := b.pool.Exec(context.Background(), `
		INSERT INTO ga4_outbox.events (transaction_id, value, currency, client_id, session_id, consent_analytics_storage)
		SELECT 'T-' || i, 10, 'EUR', i || '.1700000000', ($1::bigint - 3600 + 60 * i)::text, 'granted'
		  FROM generate_series(1, 30) AS i`, now.Unix())
	require.NoError(t, err)
	return b, b.poller(t), func(d time.Duration) { clock.Add(int64(d)) }
}

// claimTx claims one batch and returns its transaction ids.
func claimTx(t *testing.T, b *bundle, p *poller.Poller) (*poller.Batch, []string) {
	t.Helper()
	batch, err := p.Claim(context.Background())
	require.NoError(t, err)
	return batch, batch.TransactionIDs()
}

func TestCursorClaimsRowsThatBecomeDueBeforeIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("LeaseExpired", func(t *testing.T) {
		t.Parallel()
		b, p, advance := cursorSetup(t)
		dead := b.poller(t) // claims T-1..T-10 and dies
		_, ids := claimTx(t, b, dead)
		require.Equal(t, "T-1", ids[0])
		batch, ids := claimTx(t, b, p)
		require.Equal(t, "T-11", ids[0])
		_, err := p.MarkAll(ctx, batch, poller.Delivered())
		require.NoError(t, err)

		advance(time.Minute + time.Second) // the dead worker's lease expires
		_, ids = claimTx(t, b, p)
		require.Equal(t, "T-1", ids[0], "the expired lease's rows come first again, though they sort before the cursor")
	})

	t.Run("RetryFallsDue", func(t *testing.T) {
		t.Parallel()
		b, p, advance := cursorSetup(t)
		batch, ids := claimTx(t, b, p)
		require.Equal(t, "T-1", ids[0])
		_, err := p.MarkAll(ctx, batch, poller.Retry(errors.New("HTTP 503"), 2*time.Second))
		require.NoError(t, err)
		batch, ids = claimTx(t, b, p)
		require.Equal(t, "T-11", ids[0], "the retried rows wait out their backoff")
		_, err = p.MarkAll(ctx, batch, poller.Delivered())
		require.NoError(t, err)

		advance(10 * time.Millisecond) // well inside the cursor's rewind interval
		_, ids = claimTx(t, b, p)
		require.Equal(t, "T-21", ids[0], "claimed from the cursor")
		advance(time.Minute) // longer than any backoff of these rows
		_, ids = claimTx(t, b, p)
		require.ElementsMatch(t, []string{"T-1", "T-2", "T-3", "T-4", "T-5", "T-6", "T-7", "T-8", "T-9", "T-10"}, ids,
			"due retries are claimed, nearest deadline first")
	})

	t.Run("EarlierDeadlineEnqueued", func(t *testing.T) {
		t.Parallel()
		b, p, advance := cursorSetup(t)
		batch, ids := claimTx(t, b, p)
		require.Equal(t, "T-1", ids[0])
		_, err := p.MarkAll(ctx, batch, poller.Delivered())
		require.NoError(t, err)
		b.enqueue(t, sessionConversion("T-urgent", time.Now(), 23*time.Hour))

		_, ids = claimTx(t, b, p)
		require.Equal(t, "T-11", ids[0], "a claim right after reads from the cursor")
		advance(30 * time.Second) // the longest rewind interval
		_, ids = claimTx(t, b, p)
		require.Contains(t, ids, "T-urgent", "a later claim reads from the head")
	})

	t.Run("EnqueuedAfterShortClaim", func(t *testing.T) {
		t.Parallel()
		b, p, _ := cursorSetup(t)
		for range 3 {
			batch, _ := claimTx(t, b, p)
			_, err := p.MarkAll(ctx, batch, poller.Delivered())
			require.NoError(t, err)
		}
		_, ids := claimTx(t, b, p)
		require.Empty(t, ids)
		b.enqueue(t, sessionConversion("T-urgent", time.Now(), 23*time.Hour))
		_, ids = claimTx(t, b, p)
		require.Equal(t, []string{"T-urgent"}, ids, "after a claim that found nothing, the next checks for rows behind the cursor")
	})
}
