package poller_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.cfg.BackoffInitial, b.cfg.BackoffMax = time.Second, 16*time.Second
	p := b.poller(t)
	for range 200 {
		require.InDelta(t, 0.75, p.RetryDelay(1, 0).Seconds(), 0.25+1e-9, "attempt 1: between half and all of the initial delay")
		require.InDelta(t, 3, p.RetryDelay(3, 0).Seconds(), 1+1e-9, "attempt 3: 4 s, jittered")
		require.InDelta(t, 12, p.RetryDelay(30, 0).Seconds(), 4+1e-9, "capped at BackoffMax, jittered")
		require.Equal(t, time.Minute, p.RetryDelay(1, time.Minute), "a longer Retry-After wins")
	}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[p.RetryDelay(2, 0)] = true
	}
	require.Greater(t, len(seen), 1, "jitter spreads retries")
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	b := setup(t)
	_, err := poller.New(b.pool, b.sender, &poller.Config{BatchSize: -1, MissingClientID: "maybe", Schedule: "sometimes"})
	var ce *poller.ConfigError
	require.ErrorAs(t, err, &ce)
	for _, field := range []string{"BatchSize", "MissingClientID", "Schedule"} {
		require.Contains(t, err.Error(), field)
	}
	_, err = poller.New(b.pool, nil, nil)
	require.Error(t, err)
}
