package poller_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

func TestRequeue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name    string
		filter  func(f *opsFixture) poller.RequeueFilter
		want    poller.RequeueResult
		retried []string
	}{
		{"ByTransactionID", func(*opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{TransactionIDs: []string{"f1", "p1", "d1"}}
		}, poller.RequeueResult{Failed: 1}, []string{"f1"}},
		{"ByID", func(f *opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{IDs: []int64{f.ids["f2"], f.ids["d1"], f.ids["p2"], f.ids["s1"]}}
		}, poller.RequeueResult{Failed: 1}, []string{"f2"}},
		{"ByReason", func(*opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{Reason: outbox.ReasonMaxAttempts}
		}, poller.RequeueResult{Failed: 1}, []string{"f2"}},
		{"SinceOnOccurredAt", func(f *opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{Since: f.now.Add(-24 * time.Hour)}
		}, poller.RequeueResult{Failed: 1}, []string{"f1"}},
		{"UntilIsExclusive", func(f *opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{Until: f.now.Add(-time.Hour)}
		}, poller.RequeueResult{Failed: 1}, []string{"f2"}},
		{"AllFailed", func(*opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{All: true}
		}, poller.RequeueResult{Failed: 2}, []string{"f1", "f2"}},
		{"OnlySkippedWithAReason", func(*opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{SkippedReason: outbox.ReasonInvalid}
		}, poller.RequeueResult{Skipped: 1}, []string{"s1"}},
		{"FailedAndSkipped", func(*opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{All: true, SkippedReason: outbox.ReasonInvalid}
		}, poller.RequeueResult{Failed: 2, Skipped: 1}, []string{"f1", "f2", "s1"}},
		{"NarrowingAppliesToSkipped", func(*opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{TransactionIDs: []string{"s2"}, SkippedReason: outbox.ReasonInvalid}
		}, poller.RequeueResult{}, nil},
		{"DryRunChangesNothing", func(*opsFixture) poller.RequeueFilter {
			return poller.RequeueFilter{All: true, SkippedReason: outbox.ReasonConsentDenied, DryRun: true}
		}, poller.RequeueResult{Failed: 2, Skipped: 1}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tx := pgtest.Tx(t)
			f := newOpsFixture(t, tx)
			before := map[string]string{}
			for txID, id := range f.ids {
				before[txID] = opsState(t, tx, id)
			}
			requeuedAt := f.now.Add(time.Second)
			res, err := poller.Requeue(ctx, tx, requeuedAt, c.filter(f))
			require.NoError(t, err)
			require.Equal(t, c.want, res)
			for txID, id := range f.ids {
				after := opsState(t, tx, id)
				if !slices.Contains(c.retried, txID) {
					require.Equal(t, before[txID], after, "%s must not change", txID)
					continue
				}
				lastError := strings.Split(before[txID], "/")[3]
				require.Equal(t, "pending//0/"+lastError+"/false", after, "%s: pending, fresh attempts, error kept", txID)
				var next time.Time
				require.NoError(t, tx.QueryRow(ctx, `SELECT next_attempt_at FROM ga4_outbox.events WHERE id = $1`, id).Scan(&next))
				require.Equal(t, requeuedAt, next.UTC(), "%s is due at once", txID)
			}
		})
	}
}

func TestRequeueNeverTouchesDeliveredOrPendingRows(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	f := newOpsFixture(t, tx)
	keep := []string{"p1", "p2", "p3", "d1"}
	before := map[string]string{}
	for _, txID := range keep {
		before[txID] = opsState(t, tx, f.ids[txID])
	}
	var ids []int64
	var txIDs []string
	for txID, id := range f.ids {
		ids, txIDs = append(ids, id), append(txIDs, txID)
	}
	for _, skipped := range []string{"", outbox.ReasonInvalid, outbox.ReasonConsentDenied, outbox.ReasonGeneratedClientID} {
		filter := poller.RequeueFilter{All: true, IDs: ids, TransactionIDs: txIDs, SkippedReason: skipped}
		_, err := poller.Requeue(context.Background(), tx, f.now, filter)
		require.NoError(t, err)
	}
	for _, txID := range keep {
		require.Equal(t, before[txID], opsState(t, tx, f.ids[txID]), "%s must not change", txID)
	}
}

func TestRequeueRefusesAnEmptyFilter(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	f := newOpsFixture(t, tx)
	for name, filter := range map[string]poller.RequeueFilter{
		"Zero":            {},
		"DryRunOnly":      {DryRun: true},
		"EmptyNonNilList": {IDs: []int64{}, TransactionIDs: []string{}},
	} {
		res, err := poller.Requeue(context.Background(), tx, f.now, filter)
		require.ErrorIs(t, err, poller.ErrEmptyFilter, name)
		require.Zero(t, res, name)
	}
	require.Equal(t, "failed/rejected/1/HTTP 400: bad request/false", opsState(t, tx, f.ids["f1"]))
}

// Requeue wakes the pollers: they LISTEN on poller.NotifyChannel, and the
// NOTIFY is delivered when the caller's transaction commits.
func TestRequeueNotifiesAtCommit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := pgtest.Pool(t)
	f := newOpsFixture(t, pool)
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "LISTEN "+poller.NotifyChannel)
	require.NoError(t, err)

	var res poller.RequeueResult
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		res, err = poller.Requeue(ctx, tx, f.now, poller.RequeueFilter{TransactionIDs: []string{"f1"}})
		return err
	}))
	require.Equal(t, poller.RequeueResult{Failed: 1}, res)
	n, err := conn.Conn().WaitForNotification(ctx)
	require.NoError(t, err, "Requeue must NOTIFY "+poller.NotifyChannel)
	require.Equal(t, poller.NotifyChannel, n.Channel)
	_, err = conn.Exec(ctx, "UNLISTEN *")
	require.NoError(t, err)
}

// failingNotify is a pool whose Exec (Requeue's NOTIFY) fails.
type failingNotify struct{ *pgxpool.Pool }

func (failingNotify) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.CommandTag{}, errors.New("connection lost")
}

// With a pool the requeue commits before the NOTIFY: when the NOTIFY fails
// the rows stay requeued, and Requeue says how many with the error.
func TestRequeueCountsSurviveAFailedNotify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)
	f := newOpsFixture(t, pool)

	res, err := poller.Requeue(ctx, failingNotify{pool}, f.now, poller.RequeueFilter{All: true})
	require.ErrorContains(t, err, "connection lost")
	require.Equal(t, poller.RequeueResult{Failed: 2}, res)
	require.Equal(t, "pending//0/HTTP 400: bad request/false", opsState(t, pool, f.ids["f1"]))
}
