package poller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// errEmptyFilter is returned by Requeue for a RequeueFilter that selects
// nothing: set All, a narrowing field or SkippedReason.
var errEmptyFilter = errors.New("outbox: requeue filter selects no rows: set All, IDs, TransactionIDs, Reason, Since, Until or SkippedReason")

// RequeueFilter selects the failed and skipped rows Requeue puts back to
// pending. Delivered and pending rows are never selected.
//
// Failed rows are selected when All or a narrowing field (IDs,
// TransactionIDs, Reason, Since, Until) is set; skipped rows only when
// SkippedReason is set. The narrowing fields must all match; all of them
// but Reason apply to the skipped rows too. The zero filter is refused
// with an error.
type RequeueFilter struct {
	// IDs are row ids. Empty matches all.
	IDs []int64
	// TransactionIDs are transaction ids. Empty matches all.
	TransactionIDs []string
	// Reason narrows the failed rows to one reason (outbox.ReasonRejected
	// or outbox.ReasonMaxAttempts). Empty matches all.
	Reason string
	// Since and Until bound occurred_at (the business time): Since
	// inclusive, Until exclusive. Zero is unbounded.
	Since, Until time.Time
	// SkippedReason also selects the skipped rows with this reason (e.g.
	// outbox.ReasonInvalid after a fix to the payload). Empty selects no skipped
	// rows.
	SkippedReason string
	// All selects every failed row. With a narrowing field it adds nothing.
	All bool
	// DryRun counts the selected rows and changes nothing.
	DryRun bool
}

// narrowed reports whether a field that narrows the selection is set.
func (f *RequeueFilter) narrowed() bool {
	return len(f.IDs) > 0 || len(f.TransactionIDs) > 0 || f.Reason != "" || !f.Since.IsZero() || !f.Until.IsZero()
}

// args are the parameters $1 to $7 of requeueWhere.
func (f *RequeueFilter) args() []any {
	var ids []int64
	var txIDs []string
	var reason *string
	var since, until *time.Time
	if len(f.IDs) > 0 {
		ids = f.IDs
	}
	if len(f.TransactionIDs) > 0 {
		txIDs = f.TransactionIDs
	}
	if f.Reason != "" {
		reason = &f.Reason
	}
	if !f.Since.IsZero() {
		since = &f.Since
	}
	if !f.Until.IsZero() {
		until = &f.Until
	}
	return []any{f.All || f.narrowed(), f.SkippedReason, ids, txIDs, reason, since, until}
}

// RequeueResult counts the requeued rows by their former status.
type RequeueResult struct {
	Failed  int64
	Skipped int64
}

// Total is the number of rows requeued.
func (r RequeueResult) Total() int64 { return r.Failed + r.Skipped }

// Requeue puts the rows f selects back to pending, due at now, with a fresh
// attempt budget (attempts 0) and no lease; last_error is kept. When it
// changed rows it sends a NOTIFY on NotifyChannel so running pollers wake
// up. With f.DryRun it only counts. Pass a transaction to make the change
// and the wake-up commit together (a NOTIFY is delivered at commit); with a
// pool each statement commits on its own. When the NOTIFY fails, Requeue
// returns the counts with the error: with a pool those rows stay requeued
// for the pollers' schedule to find; a transaction is aborted, and its
// rollback undoes them. An empty filter is an error, returned without
// touching the database.
func Requeue(ctx context.Context, db outbox.DB, now time.Time, f RequeueFilter) (RequeueResult, error) {
	if !f.All && !f.narrowed() && f.SkippedReason == "" {
		return RequeueResult{}, errEmptyFilter
	}
	var res RequeueResult
	if f.DryRun {
		if err := db.QueryRow(ctx, sqlRequeueCount, f.args()...).Scan(&res.Failed, &res.Skipped); err != nil {
			return RequeueResult{}, fmt.Errorf("count outbox rows to requeue: %w", err)
		}
		return res, nil
	}
	if err := db.QueryRow(ctx, sqlRequeue, append(f.args(), now)...).Scan(&res.Failed, &res.Skipped); err != nil {
		return RequeueResult{}, fmt.Errorf("requeue outbox rows: %w", err)
	}
	if res.Total() == 0 {
		return res, nil
	}
	if _, err := db.Exec(ctx, sqlNotify); err != nil {
		return res, fmt.Errorf("requeue outbox rows: notify %s: %w", NotifyChannel, err)
	}
	return res, nil
}
