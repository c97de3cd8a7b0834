package outbox

import (
	"context"
	"time"
)

// Batch exposes a claimed batch to the external tests.
type Batch = batch

// Claim claims one batch without sending it: a worker about to die.
func (p *Poller) Claim(ctx context.Context) (*Batch, error) { return p.claim(ctx) }

// Len is the number of rows in the batch.
func (b *Batch) Len() int { return len(b.rows) }

// MarkAll records res for every row of b and returns the rows whose lease
// was lost.
func (p *Poller) MarkAll(ctx context.Context, b *Batch, res Result) (int, error) {
	results := make([]Result, len(b.rows))
	for i := range results {
		results[i] = res
	}
	return p.mark(ctx, b, results)
}

// RetryDelay exposes the backoff.
func (p *Poller) RetryDelay(attempt int, retryAfter time.Duration) time.Duration {
	return p.retryDelay(attempt, retryAfter)
}
