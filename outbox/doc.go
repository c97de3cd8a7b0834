// Package outbox is what an application imports to hand GA4 conversions to
// the ga4-outbox sidecar: Enqueue writes a Conversion into the outbox table
// (ga4_outbox.events) inside the application's own transaction. It depends
// on pgx and the standard library only; the sidecar's machinery (the
// poller, metrics, its scheduler) is not linked into the application.
//
// # Enqueue
//
// Call Enqueue with the transaction that writes the business change (the
// paid order). The conversion commits or rolls back with it:
//
//	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
//		if _, err := tx.Exec(ctx, `UPDATE orders SET status = 'paid' WHERE id = $1`, id); err != nil {
//			return err
//		}
//		_, err := outbox.Enqueue(ctx, tx, outbox.Conversion{EventName: "purchase", TransactionID: id, ...})
//		return err
//	})
//
// Programmer errors (a malformed value, a missing transaction id for a
// purchase) are refused with a *FieldError; missing browser identifiers are
// not errors: the row is stored and the nightly report counts what it cost.
//
// # Idempotency
//
// Enqueue is idempotent on (event name, transaction id): a retried webhook
// writes nothing and learns that it was a Duplicate, without aborting the
// transaction. Inside a REPEATABLE READ or SERIALIZABLE transaction a
// duplicate committed by another transaction after this one's snapshot is
// a serialization failure (SQLSTATE 40001) instead: retry the whole
// transaction, as for any serialization failure. Applications in other
// languages INSERT into ga4_outbox.events with ON CONFLICT DO NOTHING (the
// README has the statement).
//
// # Refunds
//
// EnqueueRefund writes a Refund: each refund of an order is a row of its
// own, keyed by the payment provider's refund id, so several partial
// refunds are all sent and a retried refund webhook writes nothing. A
// refund takes what it does not say (client id, consent, GA4 property, and
// for a whole-order refund the value) from its order's purchase row.
// Refunds need schema version 12; docs/REFUNDS.md has the rules.
//
// # What happens to the row
//
// The row is inserted pending (StatusPending). The sidecar claims it,
// sends it to the Measurement Protocol outside any transaction and marks it
// delivered, pending again with a backoff after a retryable error, failed
// (ReasonRejected, ReasonMaxAttempts) or skipped without sending
// (ReasonConsentDenied and the other Reason values). Delivery is at least
// once; GA deduplicates purchases by transaction_id. Only the sidecar's
// retention job deletes rows. The lifecycle, with its diagram, is in
// docs/ARCHITECTURE.md; running the sidecar in docs/OPERATIONS.md.
package outbox
