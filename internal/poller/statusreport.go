package poller

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// Querier is outbox.DB with Query: what Status needs to read lists of
// rows. A pgx.Tx, a *pgxpool.Pool or a *pgx.Conn fit.
type Querier interface {
	outbox.DB
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// StatusReport is what an operator wants to know about the outbox at a
// glance. Its JSON form is the output of ga4-outbox status --format json;
// the slices are empty, never nil.
type StatusReport struct {
	// GeneratedAt is the now the report was read at, in UTC.
	GeneratedAt time.Time `json:"generated_at"`
	// Total is the number of rows in the outbox.
	Total int64 `json:"total"`
	// ByStatus counts the rows per status and reason: pending first, then
	// delivered, skipped and failed, the largest groups first.
	ByStatus []StatusCount `json:"by_status"`
	// Pending splits the pending rows by what they wait for.
	Pending PendingState `json:"pending"`
	// NextAttempts are the pending rows due soonest.
	NextAttempts []NextAttempt `json:"next_attempts"`
	// LastErrors are the undelivered rows whose error was recorded most
	// recently.
	LastErrors []ErrorRow `json:"last_errors"`
}

// StatusCount is one (status, reason) group of rows.
type StatusCount struct {
	Status string `json:"status"`
	// Reason is empty for rows without one.
	Reason        string    `json:"reason"`
	Rows          int64     `json:"rows"`
	OldestCreated time.Time `json:"oldest_created_at"`
	LastUpdated   time.Time `json:"last_updated_at"`
}

// PendingState splits the pending rows: Due ones can be claimed now, Leased
// ones are held by a worker, BackingOff ones wait for a retry. The counts
// are exact (in one snapshot inside a REPEATABLE READ transaction) and do
// not read the rows (ga4_outbox.row_counts); the oldest age is an estimate
// to the minute (OldestAgeExact is false).
type PendingState struct {
	Total int64 `json:"total"`
	// Due are the pending rows neither leased nor backing off.
	Due int64 `json:"due"`
	// Leased are the rows a worker claimed and has not marked yet; a lease
	// that expired stays counted until another worker claims the row.
	Leased int64 `json:"leased"`
	// BackingOff are the retried rows no worker holds whose retry falls
	// due after the report's now.
	BackingOff int64 `json:"backing_off"`
	// OldestAgeSeconds is the age of the oldest pending row: counted from
	// the start of the minute it was created in (by created_at), so up to
	// 60 s more than its age; 0 when nothing is pending.
	OldestAgeSeconds int64 `json:"oldest_age_seconds"`
	// OldestAgeExact says whether OldestAgeSeconds is exact: false, as it
	// is counted to the minute.
	OldestAgeExact bool `json:"oldest_age_exact"`
}

// NextAttempt is a pending row and when it is due.
type NextAttempt struct {
	ID            int64     `json:"id"`
	TransactionID string    `json:"transaction_id"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"next_attempt_at"`
	// Leased is true while a worker holds the row; NextAttemptAt is then
	// the end of its lease.
	Leased    bool   `json:"leased"`
	LastError string `json:"last_error"`
}

// ErrorRow is an undelivered row with its last recorded error.
type ErrorRow struct {
	ID            int64     `json:"id"`
	TransactionID string    `json:"transaction_id"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason"`
	Attempts      int       `json:"attempts"`
	UpdatedAt     time.Time `json:"updated_at"`
	Error         string    `json:"error"`
}

// Status reads a StatusReport with db. now decides which pending rows are
// due and how old the oldest is; limit caps NextAttempts and LastErrors (0
// lists none). Status only reads. Its queries see one snapshot only
// inside a REPEATABLE READ transaction; with a pool the counts may disagree
// by the rows that changed in between.
func Status(ctx context.Context, db Querier, now time.Time, limit int) (StatusReport, error) {
	st := StatusReport{GeneratedAt: now.UTC(), NextAttempts: []NextAttempt{}, LastErrors: []ErrorRow{}}
	var err error
	if st.ByStatus, err = collect(ctx, db, scanStatusCount, sqlStatusCounts); err != nil {
		return StatusReport{}, fmt.Errorf("count outbox rows by status: %w", err)
	}
	for _, c := range st.ByStatus {
		st.Total += c.Rows
	}
	if st.Pending, err = readPending(ctx, db, now); err != nil {
		return StatusReport{}, fmt.Errorf("read pending outbox rows: %w", err)
	}
	if limit <= 0 {
		return st, nil
	}
	if st.NextAttempts, err = collect(ctx, db, scanNextAttempt, sqlNextAttempts, limit); err != nil {
		return StatusReport{}, fmt.Errorf("read next attempts: %w", err)
	}
	if st.LastErrors, err = collect(ctx, db, scanErrorRow, sqlLastErrors, limit); err != nil {
		return StatusReport{}, fmt.Errorf("read last errors: %w", err)
	}
	return st, nil
}

func readPending(ctx context.Context, db Querier, now time.Time) (PendingState, error) {
	c, err := readCounts(ctx, db)
	if err != nil {
		return PendingState{}, err
	}
	backoff, _, err := backingOff(ctx, db, now)
	if err != nil {
		return PendingState{}, err
	}
	return PendingState{
		Total: c.Pending, Leased: c.Leased, BackingOff: backoff,
		Due:              max(0, c.Pending-c.Leased-backoff),
		OldestAgeSeconds: int64(c.oldestAge(now).Seconds()),
	}, nil
}

// collect runs sql with args and scans every row; the result is never nil.
func collect[T any](ctx context.Context, db Querier, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.AppendRows(make([]T, 0), rows, scan)
}

func scanStatusCount(r pgx.CollectableRow) (StatusCount, error) {
	var c StatusCount
	err := r.Scan(&c.Status, &c.Reason, &c.Rows, &c.OldestCreated, &c.LastUpdated)
	return c, err
}

func scanNextAttempt(r pgx.CollectableRow) (NextAttempt, error) {
	var n NextAttempt
	err := r.Scan(&n.ID, &n.TransactionID, &n.Attempts, &n.NextAttemptAt, &n.Leased, &n.LastError)
	return n, err
}

func scanErrorRow(r pgx.CollectableRow) (ErrorRow, error) {
	var e ErrorRow
	err := r.Scan(&e.ID, &e.TransactionID, &e.Status, &e.Reason, &e.Attempts, &e.UpdatedAt, &e.Error)
	return e, err
}
