package poller_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// leaseHoldingSender holds every Send until released, and hands the test the
// lease it was given.
type leaseHoldingSender struct {
	recorder
	leases  chan *poller.Lease
	release chan struct{}
}

func (s *leaseHoldingSender) Send(ctx context.Context, rows []poller.Row) []poller.Result {
	s.leases <- poller.LeaseFrom(ctx)
	<-s.release
	return s.recorder.Send(ctx, rows)
}

// A batch that takes longer to send than its lease keeps its rows: the
// poller extends the lease while the batch is being sent, so no other
// worker claims and sends them again.
func TestLeaseExtendedWhileSending(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.Lease = 300 * time.Millisecond
	b.fill(t, 3)
	sender := &leaseHoldingSender{leases: make(chan *poller.Lease, 1), release: make(chan struct{})}
	p, err := poller.New(b.pool, sender, b.cfg)
	require.NoError(t, err)
	ctx := context.Background()
	done := make(chan poller.Stats)
	go func() {
		st, err := p.Drain(ctx, nil)
		require.NoError(t, err)
		done <- st
	}()
	lease := <-sender.leases
	require.NotNil(t, lease)
	first := lease.End()
	require.Positive(t, lease.Remaining())
	// Wait until the lease as first granted has run out.
	require.Eventually(t, func() bool { return time.Now().After(first.Add(100 * time.Millisecond)) },
		time.Second, 10*time.Millisecond)
	require.True(t, lease.End().After(first), "the lease was extended")
	require.Positive(t, lease.Remaining())

	other, err := poller.New(b.pool, &recorder{}, b.cfg)
	require.NoError(t, err)
	batch, err := other.Claim(ctx)
	require.NoError(t, err)
	require.Zero(t, batch.Len(), "the rows are still this worker's")

	close(sender.release)
	st := <-done
	require.Equal(t, int64(3), st.Delivered)
	require.Len(t, sender.sentRows(), 3, "each row sent once")
}

// Rows the Sender could not start a request for come back due at once,
// without backoff, and do not fail on their last attempt.
func TestUnsentRowsAreDueAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.MaxAttempts = 1
	b.cfg.BackoffInitial, b.cfg.BackoffMax = time.Hour, time.Hour
	id := b.enqueue(t, conversion("T-unsent"))
	b.sender.fn = func(poller.Row, int) poller.Result { return poller.Unsent(errors.New("lease ending")) }
	p := b.poller(t)
	ctx := context.Background()
	batch, err := p.Claim(ctx)
	require.NoError(t, err)
	p.Process(ctx, batch)
	require.Equal(t, rowState{Status: outbox.StatusPending, LastError: "lease ending", Attempts: 1}, b.state(t, id))
	var due bool
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT next_attempt_at <= now() FROM ga4_outbox.events WHERE id = $1`, id).Scan(&due))
	require.True(t, due, "no backoff")
}

// WithLease gives a Sender under test the lease a poller would.
func TestWithLease(t *testing.T) {
	t.Parallel()
	end := time.Now().Add(time.Minute)
	l := poller.LeaseFrom(poller.WithLease(context.Background(), end))
	require.Equal(t, end.UnixNano(), l.End().UnixNano())
	require.InDelta(t, time.Minute, l.Remaining(), float64(time.Second))
	require.Nil(t, poller.LeaseFrom(context.Background()))
}
