package poller_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

func TestStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("CountsSplitsAndLists", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		f := newOpsFixture(t, tx)
		st, err := poller.Status(ctx, tx, f.now, 3)
		require.NoError(t, err)

		require.Equal(t, f.now, st.GeneratedAt)
		require.EqualValues(t, 8, st.Total)
		var groups []string
		for _, c := range st.ByStatus {
			groups = append(groups, c.Status+"/"+c.Reason+"="+itoa(c.Rows))
		}
		require.Equal(t, []string{"pending/=3", "delivered/=1", "skipped/consent_denied=1", "skipped/invalid=1",
			"failed/max_attempts=1", "failed/rejected=1"}, groups, "pending first, then delivered, skipped, failed")
		require.Equal(t, f.now.Add(-2*time.Hour), st.ByStatus[0].OldestCreated.UTC())
		require.Equal(t, f.now.Add(-time.Minute), st.ByStatus[0].LastUpdated.UTC())

		oldest := st.Pending.OldestAgeSeconds
		require.True(t, oldest >= 7200 && oldest < 7260, "p1, created 2 h ago, counted from the start of its minute: %d", oldest)
		st.Pending.OldestAgeSeconds = 0
		require.Equal(t, poller.PendingState{Total: 3, Due: 1, Leased: 1, BackingOff: 1}, st.Pending)

		require.Len(t, st.NextAttempts, 3)
		p1, p3, p2 := st.NextAttempts[0], st.NextAttempts[1], st.NextAttempts[2]
		require.Equal(t, poller.NextAttempt{ID: f.ids["p1"], TransactionID: "p1", NextAttemptAt: f.now.Add(-time.Minute)}, withUTC(p1))
		require.Equal(t, poller.NextAttempt{ID: f.ids["p3"], TransactionID: "p3", Attempts: 1, NextAttemptAt: f.now.Add(time.Minute), Leased: true}, withUTC(p3))
		require.Equal(t, poller.NextAttempt{ID: f.ids["p2"], TransactionID: "p2", Attempts: 2, NextAttemptAt: f.now.Add(5 * time.Minute),
			LastError: "HTTP 503 from /mp/collect"}, withUTC(p2))

		var errs []string
		for _, e := range st.LastErrors {
			errs = append(errs, e.TransactionID+" "+e.Status+"/"+e.Reason+": "+e.Error)
		}
		require.Equal(t, []string{
			"f1 failed/rejected: HTTP 400: bad request",
			"f2 failed/max_attempts: dial tcp: connection refused",
			"s1 skipped/invalid: VALUE_INVALID events[0].params.currency",
		}, errs, "most recent first, limited, delivered rows left out")
	})

	t.Run("LimitZeroListsNothing", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		f := newOpsFixture(t, tx)
		st, err := poller.Status(ctx, tx, f.now, 0)
		require.NoError(t, err)
		require.EqualValues(t, 8, st.Total)
		require.NotNil(t, st.NextAttempts)
		require.Empty(t, st.NextAttempts)
		require.NotNil(t, st.LastErrors)
		require.Empty(t, st.LastErrors)
	})

	t.Run("EmptyOutbox", func(t *testing.T) {
		t.Parallel()
		st, err := poller.Status(ctx, pgtest.Tx(t), time.Now(), 10)
		require.NoError(t, err)
		require.Zero(t, st.Total)
		require.Equal(t, poller.PendingState{}, st.Pending)
		require.NotNil(t, st.ByStatus)
		require.Empty(t, st.ByStatus)
		require.Empty(t, st.NextAttempts)
	})

	t.Run("StatusOnlyReads", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		f := newOpsFixture(t, tx)
		before := map[string]string{}
		for tx2, id := range f.ids {
			before[tx2] = opsState(t, tx, id)
		}
		_, err := poller.Status(ctx, tx, f.now, 10)
		require.NoError(t, err)
		for tx2, id := range f.ids {
			require.Equal(t, before[tx2], opsState(t, tx, id), tx2)
		}
	})
}

// withUTC makes a NextAttempt comparable with require.Equal.
func withUTC(n poller.NextAttempt) poller.NextAttempt {
	n.NextAttemptAt = n.NextAttemptAt.UTC()
	return n
}
