// Package poller is the sidecar's delivery machinery: it claims pending
// rows of ga4_outbox.events, hands them to a Sender and records the
// results. Applications never import it; they write rows with the outbox
// package (or a plain INSERT). It knows neither HTTP nor GA4 payload
// rules: internal/delivery adapts the ga4 client to Sender.
//
// # Claiming and leases
//
// A Poller claims a batch in one statement (sqlClaim: FOR UPDATE SKIP
// LOCKED, nearest attribution deadline first, from a cursor so that it
// does not walk dead index entries; cursor.go). Claimed rows stay pending:
// next_attempt_at moves to the end of the lease and a fresh lease token
// fences them. The batch is sent outside any transaction; the lease is
// extended every third of Config.Lease while it is, and the Sender reads it
// (LeaseFrom) to start no request that could outlive it. One statement
// marks the whole batch, fenced by the token:
//
//	pending -> delivered                      2xx
//	pending -> pending (next_attempt_at)      retryable error, backoff with jitter
//	pending -> failed   (rejected|max_attempts)
//	pending -> skipped  (consent_denied|invalid|expired|missing_client_id|unknown_property)
//
// # Waking up
//
// Run claims while claims come back full. Idle, it arms the notify gate
// (gate.go): it holds an advisory lock that the events table's trigger
// tries, so enqueueing transactions NOTIFY only while some poller waits for
// them, and it claims once more before it waits. The cron Schedule, a
// retry falling due and a lost LISTEN connection wake it as well. Drain
// claims until nothing is pending and returns.
//
// # At least once
//
// A worker that dies after claiming loses nothing: when its lease expires
// the rows are claimable again, so a row may be sent twice (GA deduplicates
// purchases by transaction_id). Several pollers, in one process or many,
// may share a database. No status change clears last_error. Retain deletes
// delivered and skipped rows past their retention age, never failed ones.
//
// Status and Requeue are the queries behind the status and retry commands;
// the metrics (metrics.go) are registered by New. Row counts (the metrics,
// Status's pending split, Drain's end) are sums of per-statement deltas
// that triggers keep (counts.go), exact without reading the rows; Run
// folds them every 30 s, Drain when it ends.
package poller
