package reconcile

import "time"

// SchemaVersion is the version of the JSON schema documented in
// docs/REPORT.md. It changes only when a field is removed or changes
// meaning; new fields may appear without a bump.
const SchemaVersion = 1

// The buckets, in precedence order: each conversion falls into the first
// whose rule it meets (docs/REPORT.md has the rules).
const (
	BucketConsentDenied    = "consent_denied"
	BucketAttributable     = "attributable"
	BucketMissingSessionID = "missing_session_id"
	BucketMissingClientID  = "missing_client_id"
	BucketLate             = "late"
	BucketInvalid          = "invalid"
	BucketExpired          = "expired"
	BucketFailed           = "failed"
	BucketPending          = "pending"
	BucketNotEnqueued      = "not_enqueued"
)

// Buckets lists every bucket in precedence order, the order every section
// and format uses.
var Buckets = []string{
	BucketConsentDenied, BucketAttributable, BucketMissingSessionID, BucketMissingClientID, BucketLate,
	BucketInvalid, BucketExpired, BucketFailed, BucketPending, BucketNotEnqueued,
}

// problemBuckets are the buckets that lose attribution through a defect:
// the revenue not attributable, and the examples section's lists
// (consent_denied is by design and attributable is fine).
var problemBuckets = []string{
	BucketMissingSessionID, BucketMissingClientID, BucketLate, BucketInvalid,
	BucketExpired, BucketFailed, BucketPending, BucketNotEnqueued,
}

// Report is the attribution audit for one window of business time. Its JSON
// form is the stable schema documented in docs/REPORT.md.
type Report struct {
	SchemaVersion int       `json:"schema_version"`
	GeneratedAt   time.Time `json:"generated_at"`
	Since         time.Time `json:"since"`
	Until         time.Time `json:"until"`
	// StuckAfterSeconds is the age past which a pending row counts as stuck.
	StuckAfterSeconds int64 `json:"stuck_after_seconds"`

	Summary  []CurrencySummary `json:"summary"`
	BySource []Row             `json:"by_source"`
	ByDay    []Row             `json:"by_day"`
	Health   Health            `json:"delivery_health"`
	Examples []Example         `json:"examples"`
	Orders   Orders            `json:"orders"`
	// Refunds nets refunds out of the revenue (refunds.go).
	Refunds Refunds `json:"refunds"`
	// Credited is what GA4 recorded and credited for the window's
	// purchases (the outcome import); see Credited.
	Credited Credited `json:"credited"`
	// History is the attributable share of the last nightly runs before
	// this window (at most 30 runs, oldest first), for the trend chart.
	History []HistoryPoint `json:"history"`
}

// HistoryPoint is one currency's attributable share in one stored nightly
// run (ga4_outbox.reconcile_runs).
type HistoryPoint struct {
	Since             time.Time `json:"since"`
	Until             time.Time `json:"until"`
	Currency          string    `json:"currency"`
	AttributableShare *float64  `json:"attributable_share"`
}

// CurrencySummary is section 1 for one currency, headline first.
type CurrencySummary struct {
	// Currency is upper case (as sent); NoCurrency for rows without one.
	Currency string `json:"currency"`
	// NotAttributable is the revenue GA4 cannot join to the session that
	// earned it: every bucket but attributable and consent_denied
	// (not_enqueued included).
	NotAttributable Amount `json:"not_attributable"`
	// NotAttributableShare is NotAttributable / (revenue - consent_denied
	// revenue), 4 decimals; nil when that revenue is zero.
	NotAttributableShare *float64 `json:"not_attributable_share"`
	// TopCauses are the largest parts of NotAttributable by source and
	// bucket, most revenue first (at most 3).
	TopCauses   []Cause `json:"top_causes"`
	Conversions int64   `json:"conversions"`
	Revenue     Amount  `json:"revenue"`
	// AttributableShare is attributable revenue / (revenue - consent_denied
	// revenue), 4 decimals; nil (JSON null) when that revenue is zero.
	AttributableShare *float64 `json:"attributable_share"`
	// RevenueAtRisk is the revenue GA4 files under Unassigned / Direct: the
	// missing_session_id bucket.
	RevenueAtRisk Amount   `json:"revenue_at_risk"`
	Buckets       []Bucket `json:"buckets"`
}

// Bucket is the count and revenue of one bucket, with its reasons.
type Bucket struct {
	Bucket      string `json:"bucket"`
	Conversions int64  `json:"conversions"`
	Revenue     Amount `json:"revenue"`
	// Reasons splits the bucket by cause, most conversions first (empty for
	// consent_denied and not_enqueued; attributable lists only
	// recovered_session_id, the rows whose session id was recovered from a
	// cookie value, docs/IDS.md).
	Reasons []Reason `json:"reasons"`
	// Stuck is the part of the pending bucket older than stuck_after; nil
	// for every other bucket.
	Stuck *Count `json:"stuck,omitempty"`
}

// Cause is one part of a currency's revenue not attributable: a problem
// bucket of one source. Orders never enqueued have no source ("").
type Cause struct {
	Source      string `json:"source"`
	Bucket      string `json:"bucket"`
	Conversions int64  `json:"conversions"`
	Revenue     Amount `json:"revenue"`
}

// Reason is one cause within a bucket: the skip or failure reason column,
// the attribution rule that failed (late), or which id is wrong.
type Reason struct {
	Reason      string `json:"reason"`
	Conversions int64  `json:"conversions"`
	Revenue     Amount `json:"revenue"`
}

// Count is a number of conversions and their revenue.
type Count struct {
	Conversions int64  `json:"conversions"`
	Revenue     Amount `json:"revenue"`
}

// Row is one line of the by-source (Key = source, "(none)" when NULL) or
// by-day (Key = YYYY-MM-DD, UTC) sections, for one currency.
type Row struct {
	Key               string   `json:"key"`
	Currency          string   `json:"currency"`
	Conversions       int64    `json:"conversions"`
	Revenue           Amount   `json:"revenue"`
	AttributableShare *float64 `json:"attributable_share"`
	// Buckets has every outbox bucket (not not_enqueued) in precedence order.
	Buckets []Bucket `json:"buckets"`
}

// Health is section 4: how delivery went for the window's rows.
type Health struct {
	Delivered int64 `json:"delivered"`
	// Lag from business time (occurred_at) to delivered_at, in seconds,
	// over delivered rows; zero when none were delivered.
	LagP50Seconds float64 `json:"lag_p50_seconds"`
	LagP95Seconds float64 `json:"lag_p95_seconds"`
	LagMaxSeconds float64 `json:"lag_max_seconds"`
	// Attempts over delivered rows.
	AttemptsMean float64 `json:"attempts_mean"`
	AttemptsMax  int64   `json:"attempts_max"`
	Retried      int64   `json:"retried"` // delivered after more than one attempt
	// Pending rows (by status, whatever their bucket: a pending row
	// without a session_id counts here too), how many are stuck, and the
	// oldest one's age at generated_at (from created_at), in seconds.
	Pending                 int64        `json:"pending"`
	Stuck                   int64        `json:"stuck"`
	OldestPendingAgeSeconds int64        `json:"oldest_pending_age_seconds"`
	TopErrors               []ErrorCount `json:"top_errors"`

	attemptsSum int64
}

// ErrorCount is one group of last_error texts and how many rows carry
// them. Texts that differ only in quoted values and in numbers of four
// digits or more are one group: Error is then their shape, with such
// values as "…" and <n> ("session_id <n> looks like milliseconds"); when
// every row of the group carries the same text, Error is that text.
type ErrorCount struct {
	Error    string `json:"error"`
	Rows     int64  `json:"rows"`
	Messages int64  `json:"messages"` // distinct texts in the group
	Example  string `json:"example"`  // one of them
}

// Example lists transaction ids of one problem bucket (section 5).
type Example struct {
	Bucket         string   `json:"bucket"`
	TransactionIDs []string `json:"transaction_ids"`
}

// Orders is the orders reconciliation, present when an orders query is
// configured.
type Orders struct {
	Configured bool  `json:"configured"`
	Orders     int64 `json:"orders"`
	// NotEnqueued per currency: orders with no purchase row in the outbox.
	NotEnqueued []CurrencyCount `json:"not_enqueued"`
	// Mismatched: orders whose purchase row has another value or currency.
	Mismatched []Mismatch `json:"mismatched"`
	// MismatchedTotal counts every mismatch; Mismatched lists the first ones.
	MismatchedTotal int64 `json:"mismatched_total"`
}

// CurrencyCount is a Count for one currency.
type CurrencyCount struct {
	Currency    string `json:"currency"`
	Conversions int64  `json:"conversions"`
	Revenue     Amount `json:"revenue"`
}

// Mismatch is one order whose outbox row disagrees with it.
type Mismatch struct {
	TransactionID  string `json:"transaction_id"`
	OrderValue     string `json:"order_value"`
	OrderCurrency  string `json:"order_currency"`
	OutboxValue    string `json:"outbox_value"`
	OutboxCurrency string `json:"outbox_currency"`
}

// MinShare returns the lowest attributable share over the summary's
// currencies and that currency; ok is false when no currency has revenue.
func (r *Report) MinShare() (share float64, currency string, ok bool) {
	for _, s := range r.Summary {
		if s.AttributableShare != nil && (!ok || *s.AttributableShare < share) {
			share, currency, ok = *s.AttributableShare, s.Currency, true
		}
	}
	return share, currency, ok
}
