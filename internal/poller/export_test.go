package poller

import (
	"context"
	"time"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// Batch exposes a claimed batch to the external tests.
type Batch = batch

// Claim claims one batch without sending it: a worker about to die.
func (p *Poller) Claim(ctx context.Context) (*Batch, error) { return p.claim(ctx) }

// Len is the number of rows in the batch.
func (b *Batch) Len() int { return len(b.rows) }

// TransactionIDs lists the batch's transaction ids in the order claimed.
func (b *Batch) TransactionIDs() []string {
	ids := make([]string, len(b.rows))
	for i := range b.rows {
		ids[i] = b.rows[i].TransactionID
	}
	return ids
}

// MarkAll records res for every row of b and returns the rows whose lease
// was lost.
func (p *Poller) MarkAll(ctx context.Context, b *Batch, res Result) (int, error) {
	results := make([]Result, len(b.rows))
	for i := range results {
		results[i] = res
	}
	marked, err := p.mark(ctx, b, results)
	lost := 0
	for _, m := range marked {
		if !m {
			lost++
		}
	}
	return lost, err
}

// Process sends a claimed batch and marks and counts its results, as a
// worker does.
func (p *Poller) Process(ctx context.Context, b *Batch) { p.process(ctx, b, func() {}) }

// RetryDelay exposes the backoff.
func (p *Poller) RetryDelay(attempt int, retryAfter time.Duration) time.Duration {
	return p.retryDelay(attempt, retryAfter)
}

// SQLClaim is the claim statement, for plan checks.
const SQLClaim = sqlClaim

// Stats returns what the poller did since New.
func (p *Poller) Stats() Stats { return p.snapshot() }

// End returns when the lease ends unless the poller extends it.
func (l *Lease) End() time.Time { return l.endsAt() }

// The unexported values the tests check against.
const MaxErrorBytes = maxErrorBytes

var ErrEmptyFilter = errEmptyFilter

type ConfigError = configError

// RowCounts are the row counts the sidecar reads from ga4_outbox.row_counts.
type RowCounts = rowCounts

// ReadCounts sums ga4_outbox.row_counts.
func ReadCounts(ctx context.Context, db outbox.DB) (RowCounts, error) { return readCounts(ctx, db) }

// CompactCounts folds ga4_outbox.row_counts when that removes minRows rows.
func CompactCounts(ctx context.Context, db outbox.DB, minRows int) (int64, error) {
	return compactCounts(ctx, db, minRows)
}

// DrainWait is what Drain does between claims that found nothing: the
// count, and how long it would wait.
func (p *Poller) DrainWait(ctx context.Context) (int64, time.Duration, error) {
	return p.drainWait(ctx)
}

// ReadPending is the pending part of Status.
func ReadPending(ctx context.Context, db Querier, now time.Time) (PendingState, error) {
	return readPending(ctx, db, now)
}

// HeadClaims counts the claims that read the claim indexes from the head.
func (p *Poller) HeadClaims() int64 {
	p.cursor.mu.Lock()
	defer p.cursor.mu.Unlock()
	return p.cursor.heads
}
