package outbox

// Row statuses (the status column). A row starts pending and ends delivered,
// failed or skipped; nothing but the retention job deletes it.
const (
	// StatusPending rows wait for delivery, are leased to a worker or back
	// off after a retryable error (next_attempt_at in the future).
	StatusPending = "pending"
	// StatusDelivered rows were accepted by the Measurement Protocol (2xx).
	StatusDelivered = "delivered"
	// StatusFailed rows were rejected permanently or ran out of attempts.
	StatusFailed = "failed"
	// StatusSkipped rows were never sent, on purpose; reason says why.
	StatusSkipped = "skipped"
)

// Reasons (the reason column). Skipped and failed rows always carry one;
// a delivered row carries ReasonGeneratedClientID when it was sent with a
// generated client_id, else none.
const (
	// ReasonConsentDenied: analytics_storage was denied (or unknown, with
	// unknown consent configured as deny). Never sent.
	ReasonConsentDenied = "consent_denied"
	// ReasonInvalid: the payload failed validation; last_error holds the
	// validation messages.
	ReasonInvalid = "invalid"
	// ReasonExpired: the event time is more than 72 h old; GA would move or
	// reject it.
	ReasonExpired = "expired"
	// ReasonMissingClientID: no client_id, with missing client ids
	// configured as skip (the default).
	ReasonMissingClientID = "missing_client_id"
	// ReasonUnknownProperty: the row's measurement_id is neither the default
	// property nor one listed in the configuration. Never sent elsewhere.
	ReasonUnknownProperty = "unknown_property"
	// ReasonRejected (failed): GA answered with a permanent 4xx.
	ReasonRejected = "rejected"
	// ReasonMaxAttempts (failed): retryable errors until the attempt limit.
	ReasonMaxAttempts = "max_attempts"
	// ReasonGeneratedClientID (delivered): the row had no client_id and was
	// sent with one generated from its id (missing client ids configured as
	// generate). Its revenue counts; it cannot join any browser session.
	ReasonGeneratedClientID = "generated_client_id"
)

// Consent values of Conversion.AnalyticsStorage, AdUserData and
// AdPersonalization, as stored in the consent_* columns; the empty string
// is stored as NULL and means unknown. They are lower case, like gtag's
// consent values: the sidecar writes the Measurement Protocol's upper-case
// ones (ga4.WireConsentGranted, "GRANTED") when it sends. Enqueue refuses
// any other value, so "GRANTED" is a *FieldError here.
const (
	ConsentGranted = "granted"
	ConsentDenied  = "denied"
)
