package poller

import (
	"context"
	"fmt"
	"time"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// Counting the outbox's rows by reading them walks, while vacuum is held
// back, every index entry that claimed and marked rows left behind: the
// partial indexes over the pending rows keep an entry for each version
// until vacuum removes it, and an index-only scan does not help, as only
// vacuum sets the visibility map bits that let it skip the table fetch.
// So the counts come from ga4_outbox.row_counts instead (migration
// 000013): statement-level triggers add what each statement changed, and
// the sums are exact in every snapshot. Reading them costs the statements
// since the last compaction, not the rows.

// rowCounts are the outbox's row counts in one snapshot.
type rowCounts struct {
	// Pending counts the pending rows, Leased those of them that a worker
	// claimed and has not marked yet (a lease that expired stays counted
	// until its row is claimed again or marked).
	Pending, Leased int64
	// Delivered, Failed and Skipped count the finished rows.
	Delivered, Failed, Skipped int64
	// OldestMinute is the start of the minute in which the oldest pending
	// row was created (by created_at); zero when none is pending.
	OldestMinute time.Time
}

// byStatus returns the count of one status.
func (c rowCounts) byStatus(status string) int64 {
	switch status {
	case outbox.StatusPending:
		return c.Pending
	case outbox.StatusDelivered:
		return c.Delivered
	case outbox.StatusFailed:
		return c.Failed
	case outbox.StatusSkipped:
		return c.Skipped
	}
	return 0
}

// oldestAge is how long ago the minute of the oldest pending row began: at
// most a minute more than the row's age; 0 when none is pending.
func (c rowCounts) oldestAge(now time.Time) time.Duration {
	if c.OldestMinute.IsZero() {
		return 0
	}
	return max(0, now.Sub(c.OldestMinute))
}

// sqlRowCounts sums ga4_outbox.row_counts.
const sqlRowCounts = `
SELECT pending, leased, delivered, failed, skipped, oldest_pending_minute FROM ga4_outbox.row_count_totals()`

// sqlCompactCounts folds ga4_outbox.row_counts when compacting removes at
// least $1 rows; it returns the rows removed.
const sqlCompactCounts = `SELECT ga4_outbox.compact_row_counts($1)`

// sqlBackingOff counts the pending rows waiting out a retry backoff (no
// worker holds them and they fall due after $1) and finds the earliest
// time one falls due. It reads events_retry_idx from $1 on: retried rows
// that fell due before $1 (and the entries they left behind) sort before
// it and are not read.
const sqlBackingOff = `
SELECT count(*), min(retry_at) FROM ga4_outbox.events
 WHERE status = 'pending' AND retry_at IS NOT NULL AND retry_at > $1 AND lease_token IS NULL`

// compactCountsRows is how many more rows than it would keep
// ga4_outbox.row_counts may hold before a compaction folds them: a few
// hundred small rows sum in well under a millisecond, and each
// compaction leaves dead row versions behind too.
const compactCountsRows = 500

// compactCountsEvery is how often a running poller tries to compact.
const compactCountsEvery = 30 * time.Second

func readCounts(ctx context.Context, db outbox.DB) (rowCounts, error) {
	var c rowCounts
	var minute *int64
	err := db.QueryRow(ctx, sqlRowCounts).Scan(&c.Pending, &c.Leased, &c.Delivered, &c.Failed, &c.Skipped, &minute)
	if err != nil {
		return rowCounts{}, fmt.Errorf("sum outbox row counts: %w", err)
	}
	if minute != nil {
		c.OldestMinute = time.Unix(*minute*60, 0).UTC()
	}
	return c, nil
}

// backingOff counts the rows waiting out a backoff at now and returns when
// the first falls due (zero when none does).
func backingOff(ctx context.Context, db outbox.DB, now time.Time) (n int64, next time.Time, err error) {
	var at *time.Time
	if err := db.QueryRow(ctx, sqlBackingOff, now).Scan(&n, &at); err != nil {
		return 0, time.Time{}, fmt.Errorf("count outbox rows in backoff: %w", err)
	}
	if at != nil {
		next = *at
	}
	return n, next, nil
}

// compactCounts folds ga4_outbox.row_counts when it has grown; it returns
// the rows it removed.
func compactCounts(ctx context.Context, db outbox.DB, minRows int) (int64, error) {
	var n int64
	if err := db.QueryRow(ctx, sqlCompactCounts, minRows).Scan(&n); err != nil {
		return 0, fmt.Errorf("compact outbox row counts: %w", err)
	}
	return n, nil
}

// compactLoop compacts the row counts every compactCountsEvery until ctx
// ends.
func (p *Poller) compactLoop(ctx context.Context) {
	t := time.NewTicker(compactCountsEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.compact(ctx)
	}
}

// compact folds the row counts when they have grown. Errors are logged:
// the counts stay exact, only slower to sum.
func (p *Poller) compact(ctx context.Context) {
	if _, err := compactCounts(ctx, p.db, compactCountsRows); err != nil && ctx.Err() == nil {
		p.log.Warn("outbox: compacting row counts failed", logKeyError, err)
	}
}
