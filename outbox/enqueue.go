package outbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DB is what Enqueue needs: the caller's pgx.Tx, a *pgxpool.Pool or a
// *pgx.Conn all fit. Pass the transaction that writes the business change
// so the conversion commits or rolls back with it.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// EnqueueResult says which row holds the conversion.
type EnqueueResult struct {
	// ID is the row id. It is 0 only for a duplicate whose row was deleted
	// (by the sidecar's retention) between the INSERT and the look-up.
	ID int64
	// Duplicate is true when a row for the same (event name, transaction
	// id) already existed: nothing was written.
	Duplicate bool
}

// Enqueue validates c and writes it to the outbox with db, normally the
// caller's transaction. It is idempotent on (EventName, TransactionID):
// enqueueing the same conversion again (a retried webhook) writes nothing,
// returns the existing row's id with Duplicate set, and at READ COMMITTED
// never aborts the caller's transaction. Programmer errors are returned as
// *FieldError.
//
// Inside a REPEATABLE READ or SERIALIZABLE transaction, a duplicate that
// another transaction committed after this one took its snapshot (or while
// the INSERT waited for it) fails with SQLSTATE 40001 (serialization_failure,
// a *pgconn.PgError in the error chain): PostgreSQL cannot skip a row the
// snapshot does not see. Roll back and retry the whole transaction, as for
// any serialization failure; the retry sees the row and returns Duplicate.
// At READ COMMITTED (PostgreSQL's default) a duplicate is never an error.
//
// A transaction that will be committed in two phases (PREPARE TRANSACTION)
// must not NOTIFY: it runs SET LOCAL ga4_outbox.notify = 'off' before
// Enqueue (schema version 9; docs/OPERATIONS.md "Two-phase commit").
func Enqueue(ctx context.Context, db DB, c Conversion) (EnqueueResult, error) {
	if err := c.Validate(); err != nil {
		return EnqueueResult{}, err
	}
	params, err := c.paramsJSON()
	if err != nil {
		return EnqueueResult{}, err
	}
	userProps, err := c.userPropertiesJSON()
	if err != nil {
		return EnqueueResult{}, err
	}
	var res EnqueueResult
	err = db.QueryRow(ctx, sqlEnqueue,
		c.EventName, c.TransactionID, c.Value, upper(c.Currency), string(params), nullJSON(userProps),
		c.ClientID, c.SessionID, c.UserID,
		c.AnalyticsStorage, c.AdUserData, c.AdPersonalization,
		nullTime(c.SessionEventAt), nullTime(c.OccurredAt), c.Source, c.MeasurementID,
	).Scan(&res.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return findDuplicate(ctx, db, c)
	}
	if err != nil {
		return EnqueueResult{}, fmt.Errorf("enqueue conversion: %w", err)
	}
	return res, nil
}

// findDuplicate reads the id of the row a duplicate conflicted with (the
// INSERT wrote nothing). The row is visible: at READ COMMITTED the look-up
// takes a new snapshot; at REPEATABLE READ and above an invisible
// conflicting row already failed the INSERT with 40001. Only a row deleted
// in between is not found: then the id is 0.
func findDuplicate(ctx context.Context, db DB, c Conversion) (EnqueueResult, error) {
	if c.EventName == "refund" { // the order's refund without an id, among its refunds
		var hasRefundIDs bool
		if err := db.QueryRow(ctx, sqlHasRefundIDs).Scan(&hasRefundIDs); err != nil {
			return EnqueueResult{}, fmt.Errorf("enqueue conversion: look up duplicate: %w", err)
		}
		if hasRefundIDs { // else schema version 11: one refund per order, the plain look-up is right
			return findRefund(ctx, db, Refund{TransactionID: c.TransactionID})
		}
	}
	res := EnqueueResult{Duplicate: true}
	err := db.QueryRow(ctx, sqlFindDuplicate, c.EventName, c.TransactionID).Scan(&res.ID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return EnqueueResult{}, fmt.Errorf("enqueue conversion: look up duplicate: %w", err)
	}
	return res, nil
}

func nullJSON(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}
