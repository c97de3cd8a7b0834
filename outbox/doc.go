// Package outbox is the transactional outbox for GA4 conversions: the API an
// application calls to enqueue a conversion inside its own transaction, and
// the poller that claims, delivers and marks rows.
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
// Enqueue is idempotent on (event name, transaction id): a retried webhook
// writes nothing and learns that it was a Duplicate, without aborting the
// transaction. Applications in other languages INSERT into
// ga4_outbox.events with ON CONFLICT DO NOTHING (the README has the statement).
//
// # Row lifecycle
//
// A row is inserted pending. The poller claims a batch of rows in one
// statement (FOR UPDATE SKIP LOCKED, nearest attribution deadline first),
// leasing them: they stay pending with next_attempt_at moved to the end of
// the lease and a fresh lease token. It sends them outside any transaction
// through a Sender and marks the whole batch in one statement, fenced by the
// lease token:
//
//	pending -> delivered                      2xx
//	pending -> pending (next_attempt_at)      retryable error, backoff with jitter
//	pending -> failed   (rejected|max_attempts)
//	pending -> skipped  (consent_denied|invalid|expired|missing_client_id|unknown_property)
//
// A worker that dies after claiming loses nothing: when its lease expires the
// rows are claimable again. Delivery is therefore at least once; GA
// deduplicates purchases by transaction_id. No status change clears
// last_error. Only the retention job deletes rows (delivered and skipped
// ones, never failed ones).
package outbox
