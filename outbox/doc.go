// Package outbox is the transactional outbox for GA4 conversions: the API an
// application calls to enqueue a conversion inside its own transaction, and
// the poller that claims, delivers and marks rows.
package outbox
