package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Refund is one refund of an order, whole or partial, as the payment
// provider reports it. It is stored as a "refund" row (schema version 12)
// and sent to GA4 like a purchase: the sidecar posts a refund event with
// the order's transaction_id, the refunded value and items.
//
// What the refund does not say is taken from the order's purchase row when
// it is inserted (docs/REFUNDS.md): an empty ClientID, UserID,
// MeasurementID or consent field takes the purchase's value (a value given
// here wins), and a refund without Value and Items refunds the whole order
// (the purchase's value and currency). A refund whose purchase row does not
// exist is still stored and sent; the report flags it.
type Refund struct {
	// TransactionID is the refunded order's transaction id, as its purchase
	// was enqueued. Required.
	TransactionID string
	// RefundID is the payment provider's id of this refund (Stripe re_...),
	// the idempotency key: each refund of an order is a row of its own, and
	// a retried webhook for the same refund writes nothing. Empty means the
	// order's one refund without an id (a second one is a Duplicate). At
	// most 100 characters: it is sent as the refund_id event parameter.
	RefundID string
	// Value is the amount refunded as exact decimal text ("12.50"), not
	// negative. Empty with no Items means the whole order.
	Value string
	// Currency is the ISO 4217 code; required with Value.
	Currency string
	// Items are the refunded items of a partial refund, with the same rules
	// as a purchase's (ItemID or ItemName, Quantity not negative).
	Items []Item
	// Params are further event parameters (e.g. a reason). The keys of
	// Conversion.Params and refund_id are reserved.
	Params map[string]any

	// ClientID and UserID default to the purchase's (empty = take them).
	ClientID, UserID string
	// AnalyticsStorage, AdUserData and AdPersonalization default to the
	// purchase's consent (empty = take it); ConsentGranted or ConsentDenied
	// here wins. A refund whose analytics_storage ends up denied is never
	// sent, like its purchase.
	AnalyticsStorage, AdUserData, AdPersonalization string

	// OccurredAt is when the refund happened. Zero means the database's
	// now() at insert.
	OccurredAt time.Time
	// Source names the code path that wrote the row ("stripe_webhook").
	Source string
	// MeasurementID routes the refund to another GA4 property. Empty means
	// the purchase's property (else the default one).
	MeasurementID string
}

// maxRefundIDLen is GA's limit on an event parameter value (refund_id is
// sent as one).
const maxRefundIDLen = 100

// Validate returns a *FieldError for the first programmer error in r, or
// nil: the rules of a purchase (Conversion.Validate) plus a non-negative
// value and a refund id that fits in an event parameter.
func (r *Refund) Validate() error {
	c := r.conversion()
	if r.TransactionID == "" {
		return &FieldError{"TransactionID", "is required for a refund (GA matches the refund to its purchase by it)"}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if _, ok := r.Params["refund_id"]; ok {
		return &FieldError{"Params", `key "refund_id" is reserved: set RefundID instead`}
	}
	switch {
	case strings.HasPrefix(r.Value, "-"):
		return &FieldError{"Value", fmt.Sprintf("%q must not be negative: a refund's value is the amount refunded", r.Value)}
	case utf8.RuneCountInString(r.RefundID) > maxRefundIDLen:
		return &FieldError{"RefundID", fmt.Sprintf("must be at most %d characters (it is sent as an event parameter); it has %d", maxRefundIDLen, utf8.RuneCountInString(r.RefundID))}
	case strings.TrimSpace(r.RefundID) != r.RefundID:
		return &FieldError{"RefundID", fmt.Sprintf("%q must not start or end with white space", r.RefundID)}
	}
	return nil
}

// conversion is r as the row's common columns.
func (r *Refund) conversion() Conversion {
	return Conversion{
		EventName: "refund", TransactionID: r.TransactionID, Value: r.Value, Currency: r.Currency,
		Items: r.Items, Params: r.Params, ClientID: r.ClientID, UserID: r.UserID,
		AnalyticsStorage: r.AnalyticsStorage, AdUserData: r.AdUserData, AdPersonalization: r.AdPersonalization,
		OccurredAt: r.OccurredAt, Source: r.Source, MeasurementID: r.MeasurementID,
	}
}

// EnqueueRefund validates r and writes it to the outbox with db, normally
// the caller's transaction, like Enqueue. It is idempotent on
// (TransactionID, RefundID): the same refund enqueued again (a retried
// webhook) writes nothing and returns the existing row's id with
// Duplicate set; another refund id of the same order is a new row.
// Programmer errors are returned as *FieldError. It needs schema version
// 12 (ga4-outbox migrate up); on an older schema it returns an error
// saying so.
func EnqueueRefund(ctx context.Context, db DB, r Refund) (EnqueueResult, error) {
	if err := r.Validate(); err != nil {
		return EnqueueResult{}, err
	}
	c := r.conversion()
	params, err := c.paramsJSON()
	if err != nil {
		return EnqueueResult{}, err
	}
	var res EnqueueResult
	err = db.QueryRow(ctx, sqlEnqueueRefund,
		r.TransactionID, r.RefundID, r.Value, upper(r.Currency), string(params),
		r.ClientID, r.UserID, r.AnalyticsStorage, r.AdUserData, r.AdPersonalization,
		nullTime(r.OccurredAt), r.Source, r.MeasurementID,
	).Scan(&res.ID)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return findRefund(ctx, db, r)
	case undefinedColumn(err):
		return EnqueueResult{}, fmt.Errorf("enqueue refund: the outbox schema predates refund ids (version 12): run ga4-outbox migrate up: %w", err)
	case err != nil:
		return EnqueueResult{}, fmt.Errorf("enqueue refund: %w", err)
	}
	return res, nil
}

// findRefund reads the id of the refund row a duplicate conflicted with
// (see findDuplicate).
func findRefund(ctx context.Context, db DB, r Refund) (EnqueueResult, error) {
	res := EnqueueResult{Duplicate: true}
	err := db.QueryRow(ctx, sqlFindRefund, r.TransactionID, r.RefundID).Scan(&res.ID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return EnqueueResult{}, fmt.Errorf("enqueue refund: look up duplicate: %w", err)
	}
	return res, nil
}

func undefinedColumn(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42703"
}
