package outcomes

import (
	"context"
	"errors"
	"time"
)

// Outcome is what GA4 recorded for one purchase: the outcome column of
// ga4_outbox.outcomes.
type Outcome string

// The outcome classes, in the order reports list them.
const (
	// Credited: GA4 credited the purchase to a real channel (Organic
	// Search, Paid Search, Email, Referral, ...).
	Credited Outcome = "credited"
	// Direct: the session's channel is Direct.
	Direct Outcome = "direct"
	// Unassigned: the session's channel is Unassigned (typically a
	// Measurement Protocol event without a usable session).
	Unassigned Outcome = "unassigned"
	// NotSet: the session's channel is "(not set)".
	NotSet Outcome = "not_set"
	// Duplicate: GA4 counts more than one purchase for the transaction id.
	Duplicate Outcome = "duplicate"
	// NotFound: GA4 has no purchase with the transaction id.
	NotFound Outcome = "not_found"
	// Indeterminate: the answer cannot be trusted (rows folded into
	// "(other)", thresholding, sampling); the detail column says which.
	Indeterminate Outcome = "indeterminate"
)

// Outcomes lists every class, in report order.
var Outcomes = []Outcome{Credited, Direct, Unassigned, NotSet, Duplicate, NotFound, Indeterminate}

// DefaultFinalAfter is how old an order must be before its outcome is
// final: GA4's data changes for 24 to 48 hours after an event.
const DefaultFinalAfter = 72 * time.Hour

// DefaultSettle is how old an order must be before it is looked up at
// all: GA4's daily data is about 12 h late, so a younger order may not be
// processed yet and would look not found.
const DefaultSettle = 24 * time.Hour

// Query asks a Source about some transaction ids of one property.
type Query struct {
	// PropertyID is the numeric GA4 property id (not the G- measurement id).
	PropertyID string
	// StartDate and EndDate bound the event dates, both included, as
	// YYYY-MM-DD in the property's time zone.
	StartDate, EndDate string
	// TransactionIDs are the ids looked up.
	TransactionIDs []string
}

// Row is one row of GA4's answer: one transaction id within one session
// channel, source / medium and campaign. A transaction id may have several.
type Row struct {
	TransactionID string
	// Channel is the session default channel group ("Organic Search",
	// "Direct", "Unassigned", "(not set)", ...).
	Channel      string
	SourceMedium string
	Campaign     string
	// Revenue is the purchase revenue as GA4 wrote it (a decimal string),
	// in Answer.Currency.
	Revenue string
	// Purchases counts the purchase events of the row.
	Purchases int64
}

// Answer is a Source's answer to one Query, every page read.
type Answer struct {
	Rows []Row
	// Currency is the currency of Revenue (the property's currency).
	Currency string
	// TimeZone is the property's time zone, when the source says it.
	TimeZone string
	// DataLossFromOtherRow: some rows were folded into "(other)", so an
	// absent transaction id may be there.
	DataLossFromOtherRow bool
	// Thresholded: GA4 may have withheld rows (Google signals thresholds).
	Thresholded bool
	// Sampled: the figures come from a sample.
	Sampled bool
	// Quota is what is left of the property's quota after the query; nil
	// when the source does not say.
	Quota *Quota
}

// Quota is what is left of a property's Data API quota.
type Quota struct {
	TokensPerDay            int64
	TokensPerHour           int64
	TokensPerProjectPerHour int64
}

// Left returns the smallest of the remaining token counts: the one that
// runs out first.
func (q Quota) Left() int64 { return min(q.TokensPerDay, q.TokensPerHour, q.TokensPerProjectPerHour) }

// Source answers what GA4 recorded for a list of transaction ids. The Data
// API (package dataapi) is the first implementation; a BigQuery export
// source can be added behind the same interface.
type Source interface {
	Lookup(ctx context.Context, q Query) (*Answer, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, q Query) (*Answer, error)

// Lookup calls f.
func (f SourceFunc) Lookup(ctx context.Context, q Query) (*Answer, error) { return f(ctx, q) }

var _ Source = SourceFunc(nil)

// Errors a Source wraps so that callers can tell them apart with errors.Is.
var (
	// ErrQuotaExhausted: the property's quota is spent (HTTP 429
	// RESOURCE_EXHAUSTED). Fetch stops querying that property and the next
	// run resumes.
	ErrQuotaExhausted = errors.New("quota exhausted")
	// ErrPermissionDenied: the credentials may not read the property.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrPropertyNotFound: no such property.
	ErrPropertyNotFound = errors.New("no such property")
	// ErrCredentials: the credentials are missing, unreadable or rejected.
	ErrCredentials = errors.New("bad credentials")
)
