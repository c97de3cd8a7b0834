package delivery

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeClock is a clock the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestLimiter(min, initial, max int) (*limiter, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	return newLimiter(min, initial, max, c.now), c
}

// round takes n places at once, lets rtt pass and releases them all with o:
// one round trip of n requests.
func round(t *testing.T, l *limiter, c *fakeClock, n int, rtt time.Duration, o outcome) {
	t.Helper()
	ps := make([]*permit, n)
	for i := range ps {
		p, err := l.acquire(context.Background())
		require.NoError(t, err)
		ps[i] = p
	}
	c.advance(rtt)
	for _, p := range ps {
		p.release(o)
	}
}

// fill runs rounds that use the whole limit until the limit stops moving
// or rounds are done, and returns the limits seen after each round.
func fill(t *testing.T, l *limiter, c *fakeClock, rounds int, rtt time.Duration, o outcome) []int {
	var seen []int
	for range rounds {
		round(t, l, c, l.Limit(), rtt, o)
		seen = append(seen, l.Limit())
	}
	return seen
}

func TestLimiter(t *testing.T) {
	t.Parallel()

	t.Run("DoublesWhileLatencyIsFlat", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(1, 32, 1000)
		require.Equal(t, []int{64, 128, 256, 512, 1000, 1000}, fill(t, l, c, 6, 40*time.Millisecond, outcomeOK))
	})

	t.Run("HoldsWhenTheLimitIsNotUsed", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(1, 32, 1000)
		for range 10 {
			round(t, l, c, 15, 40*time.Millisecond, outcomeOK) // under half of 32
		}
		require.Equal(t, 32, l.Limit())
	})

	t.Run("ShrinksOnOverloadOncePerBurst", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(1, 100, 1000)
		// 100 requests in flight, all answered 429 together: one shrink,
		// although they make four windows of 25.
		round(t, l, c, 100, 40*time.Millisecond, outcomeThrottled)
		require.Equal(t, 75, l.Limit())
	})

	t.Run("ShrinksAgainWhileOverloadLasts", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(4, 100, 1000)
		require.Equal(t, []int{75, 56, 42, 31}, fill(t, l, c, 4, 40*time.Millisecond, outcomeThrottled))
		require.Equal(t, []int{23, 17, 12, 9, 6, 6, 4}, fill(t, l, c, 7, 40*time.Millisecond, outcomeThrottled))
	})

	t.Run("FewThrottlesAreTolerated", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(1, 100, 1000)
		// One 429 in a window of 25 answers is 4 %: still growing.
		for range 4 {
			round(t, l, c, 1, 40*time.Millisecond, outcomeThrottled)
			round(t, l, c, 24, 40*time.Millisecond, outcomeOK)
		}
		round(t, l, c, 100, 40*time.Millisecond, outcomeOK)
		require.Equal(t, 200, l.Limit())
	})

	t.Run("ShrinksWhenLatencyRises", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(1, 64, 1000)
		round(t, l, c, 64, 40*time.Millisecond, outcomeOK) // baseline 40 ms
		require.Equal(t, 128, l.Limit())
		round(t, l, c, 128, 100*time.Millisecond, outcomeOK) // > 2 x 40 ms + 2 ms
		require.Equal(t, 115, l.Limit())
	})

	t.Run("HoldsWhenLatencyIsSomewhatHigher", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(1, 64, 1000)
		round(t, l, c, 64, 40*time.Millisecond, outcomeOK)
		round(t, l, c, 128, 60*time.Millisecond, outcomeOK) // between 1.25 x and 2 x
		require.Equal(t, 128, l.Limit())
	})

	t.Run("GrowsBySquareRootAfterTheFirstShrink", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(1, 100, 1000)
		round(t, l, c, 100, 40*time.Millisecond, outcomeThrottled)
		require.Equal(t, 75, l.Limit())
		c.advance(time.Millisecond)
		require.Equal(t, []int{83, 92, 102}, fill(t, l, c, 3, 40*time.Millisecond, outcomeOK))
	})

	t.Run("ASurgeOfFailuresShrinksASteadyShareDoesNot", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(4, 100, 1000)
		// One answer in five is a 503, whatever the load: the first windows
		// shrink the limit, then the share is learned as usual and the
		// limit grows again.
		failing := func() {
			ps := make([]*permit, l.Limit())
			for i := range ps {
				ps[i], _ = l.acquire(context.Background())
			}
			c.advance(40 * time.Millisecond)
			for i, p := range ps {
				p.release(map[bool]outcome{true: outcomeFailed, false: outcomeOK}[i%5 == 0])
			}
		}
		var seen []int
		for range 12 {
			failing()
			seen = append(seen, l.Limit())
		}
		low := slices.Min(seen)
		require.Less(t, low, 100, "the surge shrank the limit: %v", seen)
		require.Greater(t, seen[len(seen)-1], low, "the steady share is learned: %v", seen)
	})

	t.Run("MostlyFailingAlwaysShrinks", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(4, 100, 1000)
		require.Equal(t, []int{75, 56, 42, 31, 23, 17, 12, 9}, fill(t, l, c, 8, 40*time.Millisecond, outcomeFailed))
	})

	t.Run("TimeoutsAndCancelsCount", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(1, 40, 1000)
		round(t, l, c, 40, time.Second, outcomeNone) // cancelled sends say nothing
		require.Equal(t, 40, l.Limit())
		require.Zero(t, l.InFlight())
	})

	t.Run("NeverBelowMinOrAboveMax", func(t *testing.T) {
		t.Parallel()
		l, c := newTestLimiter(10, 12, 20)
		fill(t, l, c, 5, 40*time.Millisecond, outcomeThrottled)
		require.Equal(t, 10, l.Limit())
		c.advance(time.Millisecond)
		fill(t, l, c, 10, 40*time.Millisecond, outcomeOK)
		require.Equal(t, 20, l.Limit())
	})
}

func TestLimiterWaiters(t *testing.T) {
	t.Parallel()

	t.Run("GrantedInArrivalOrder", func(t *testing.T) {
		t.Parallel()
		l, _ := newTestLimiter(1, 1, 1)
		first, err := l.acquire(context.Background())
		require.NoError(t, err)
		order := make(chan int, 2)
		queued := func(n int) {
			for {
				l.mu.Lock()
				q := len(l.waiters)
				l.mu.Unlock()
				if q == n {
					return
				}
				time.Sleep(time.Millisecond) // polling a queue length, not timing
			}
		}
		for i := range 2 {
			go func() {
				p, err := l.acquire(context.Background())
				if err == nil {
					order <- i
					p.release(outcomeOK)
				}
			}()
			queued(i + 1)
		}
		first.release(outcomeOK)
		require.Equal(t, 0, <-order)
		require.Equal(t, 1, <-order)
	})

	t.Run("CancelledWaiterLeavesTheQueue", func(t *testing.T) {
		t.Parallel()
		l, _ := newTestLimiter(1, 1, 1)
		p, err := l.acquire(context.Background())
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = l.acquire(ctx)
		require.ErrorIs(t, err, context.Canceled)
		require.Empty(t, l.waiters)
		p.release(outcomeOK)
		require.Zero(t, l.InFlight())
		_, err = l.acquire(context.Background())
		require.NoError(t, err)
	})
}
