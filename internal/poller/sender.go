package poller

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// Sender delivers claimed rows. The poller calls it outside any database
// transaction, with rows that passed the consent, age and client_id gates.
// It returns one Result per row, in order, and must not keep rows (the
// slice is reused for a later claim once the results are marked). It is
// adapted from the ga4 client in internal/delivery; the poller knows no
// HTTP.
type Sender interface {
	Send(ctx context.Context, rows []Row) []Result
}

// Row is a claimed outbox row as a Sender sees it. Nullable text columns
// are "" when NULL.
type Row struct {
	ID             int64
	EventName      string
	TransactionID  string
	Value          string // exact decimal text, "" = none
	Currency       string
	Params         json.RawMessage // jsonb object, never nil
	UserProperties json.RawMessage // jsonb object or nil
	ClientID       string
	// GeneratedClientID is true when ClientID was generated because the row
	// had none (Config.MissingClientID = generate).
	GeneratedClientID bool
	SessionID         string
	UserID            string
	AnalyticsStorage  string
	AdUserData        string
	AdPersonalization string
	SessionEventAt    time.Time // zero = none
	OccurredAt        time.Time
	CreatedAt         time.Time
	Source            string
	MeasurementID     string // "" = the default property
	// Attempt counts the claims of this row, this one included (1 first).
	Attempt int
}

// eventTime is the moment sent as timestamp_micros before clamping: the
// in-session time when there is one, else the business time.
func (r *Row) eventTime() time.Time {
	if !r.SessionEventAt.IsZero() {
		return r.SessionEventAt
	}
	return r.OccurredAt
}

// Result is what happened to one row. Build it with Delivered, Retry,
// Fail or Skip.
type Result struct {
	// Status is outbox.StatusDelivered, outbox.StatusPending (retry),
	// outbox.StatusFailed or outbox.StatusSkipped.
	Status     string
	Reason     string        // required for failed and skipped
	Error      string        // kept in last_error; "" keeps the previous one
	RetryAfter time.Duration // with StatusPending: the server's minimum delay
	// Unsent (with StatusPending) says no request for the row was started:
	// it is due again at once, without backoff, and never fails as
	// max_attempts for this claim (the claim still counts as an attempt).
	Unsent bool
}

// Delivered reports a 2xx.
func Delivered() Result { return Result{Status: outbox.StatusDelivered} }

// Retry reports a retryable error; after is the server's Retry-After (0 if none).
func Retry(err error, after time.Duration) Result {
	return Result{Status: outbox.StatusPending, Error: errText(err), RetryAfter: after}
}

// Unsent reports a row whose request was not started, because its lease
// was ending (see Lease) or the send was cancelled; why says so.
func Unsent(why error) Result {
	return Result{Status: outbox.StatusPending, Error: errText(why), Unsent: true}
}

// Fail reports a permanent failure.
func Fail(reason string, err error) Result {
	return Result{Status: outbox.StatusFailed, Reason: reason, Error: errText(err)}
}

// Skip reports a row that must not be sent; msg says why in detail.
func Skip(reason, msg string) Result {
	return Result{Status: outbox.StatusSkipped, Reason: reason, Error: msg}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
