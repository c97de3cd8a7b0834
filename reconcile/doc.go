// Package reconcile is the attribution audit: it sorts every conversion of
// a window of business time into one bucket, sums revenue per currency,
// and says, in money, which revenue GA4 cannot join to the browser session
// that earned it, and which code path (source) causes it.
//
// # Building a report
//
// Build runs in one read-only, repeatable-read transaction and aggregates
// in PostgreSQL; the window's rows never leave the database:
//
//	r, err := reconcile.Build(ctx, pool, reconcile.Options{
//		Since: since, Until: until, // business time (occurred_at), [since, until)
//		OrdersQuery: ordersQuery,   // optional: the application's own orders, $1 and $2 the window
//	})
//
// The Report is the stable JSON schema of docs/REPORT.md (SchemaVersion).
// Amounts are exact decimals (Amount), never floats, printed with their
// currency's minor units; currencies are never added together.
//
// # Buckets
//
// Each conversion falls into the first bucket whose rule it meets, in the
// order of Buckets: consent_denied (by design, not a defect), attributable,
// missing_session_id (GA4 files it under Unassigned), missing_client_id,
// late, invalid, expired, failed, pending, and not_enqueued (orders the
// orders query returns that have no outbox row). The classification is a
// generated column computed by the database on every write, with the same
// rules as package ga4; a report only groups.
//
// # The headline
//
// Every format opens with the headline: per currency, the revenue not
// attributable (every bucket but attributable and consent_denied), its
// share of the revenue less consent_denied, and its top causes by source
// ("payment_webhook: 12,196.15 EUR without session_id").
//
// # Credited in GA4
//
// When the outcome import has filled ga4_outbox.outcomes (what GA4
// recorded and credited per purchase, read with the Data API), the report
// adds Credited: per currency the capture rate (orders and revenue GA4
// recorded) and the credited share (revenue GA4 credited to a real
// channel), our label before the send x GA4's outcome, the same by source,
// and the channels credited; the headline shows "credited by GA4" beside
// "attributable as sent". Without outcomes it says so in one line.
//
// # Formats
//
// Render writes FormatTable (a terminal: compact tables in 100 columns),
// FormatWide (every bucket, column and whole text), FormatMarkdown,
// FormatCSV, FormatJSON or FormatHTML (one self-contained page: headline,
// stacked bars of revenue by cause per source and per day, the
// attributable-share trend over the last nightly runs). Text from the
// database is escaped in the text formats: no control character reaches a
// terminal.
//
// # The nightly run
//
// Nightly.Run reports on the previous day once per day across replicas
// (an advisory lock), writes one file per format and records the run in
// ga4_outbox.reconcile_runs, whose summaries feed the trend chart. The cron
// wiring lives in the run command. Register Metrics' collectors to export
// the last run's attributable share and revenue at risk.
package reconcile
