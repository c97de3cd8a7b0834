package poller

import (
	"context"
	"fmt"
)

// Retain deletes delivered and skipped rows older than the Retention ages
// (by the time they were marked), Retention.BatchSize rows per statement in
// id order, so no statement holds many locks for long. Failed and pending
// rows are never deleted. It returns the number of rows deleted.
func (p *Poller) Retain(ctx context.Context) (int64, error) {
	r := p.cfg.Retention
	if r.DeliveredAfter == 0 && r.SkippedAfter == 0 {
		return 0, nil
	}
	now := p.cfg.Now()
	var deliveredCutoff, skippedCutoff any // nil keeps those rows
	if r.DeliveredAfter > 0 {
		deliveredCutoff = now.Add(-r.DeliveredAfter)
	}
	if r.SkippedAfter > 0 {
		skippedCutoff = now.Add(-r.SkippedAfter)
	}
	var total, cursor int64
	for {
		var n int64
		err := p.db.QueryRow(ctx, sqlRetain, cursor, deliveredCutoff, skippedCutoff, r.BatchSize).Scan(&n, &cursor)
		if err != nil {
			return total, fmt.Errorf("delete retained outbox rows: %w", err)
		}
		total += n
		if n < int64(r.BatchSize) {
			break
		}
	}
	if total > 0 {
		p.log.Info("outbox retention deleted rows", logKeyDeleted, total)
	}
	p.metrics.retained.Add(float64(total))
	return total, nil
}
