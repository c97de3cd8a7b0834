package outbox

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Conversion is one conversion to deliver, as the application knows it.
// Identifiers are stored raw, as captured in the browser: a conversion
// without a client_id or session_id is stored (the audit reports it), not
// refused. Only programmer errors are refused (see Validate).
type Conversion struct {
	// EventName is the GA4 event, e.g. "purchase" or "sign_up". Required:
	// letters, digits and underscores, starting with a letter, at most 40.
	EventName string
	// TransactionID is the order number. Required for purchase and refund
	// (GA deduplicates purchases by it). Enqueue is idempotent on
	// (EventName, TransactionID): a second enqueue is a Duplicate.
	TransactionID string
	// Value is the exact decimal amount as text, e.g. "49.90". Empty means
	// no value. A value needs a Currency.
	Value string
	// Currency is the ISO 4217 code, three letters, e.g. "EUR" (stored
	// upper-cased).
	Currency string
	// Items are the purchased items (GA4 ecommerce items), stored in the
	// params jsonb as "items".
	Items []Item
	// Params are further event parameters (tax, shipping, coupon, custom
	// ones), stored in the params jsonb. Numbers should be Go numbers or
	// json.Number. The keys items, transaction_id, value, currency,
	// session_id and engagement_time_msec are reserved for the fields above
	// and for the sender.
	Params map[string]any
	// UserProperties are GA4 user properties, name -> value.
	UserProperties map[string]any

	// ClientID is the browser's GA client id as captured (gtag('get')
	// client_id, or the _ga cookie value). Empty means unknown.
	ClientID string
	// SessionID is the browser's GA session id (session start in Unix
	// seconds) as captured. Empty means unknown: the conversion is still
	// sent, and the report counts it as lost to Unassigned.
	SessionID string
	// UserID is the application's own user id, if it sends one to GA.
	UserID string

	// AnalyticsStorage, AdUserData and AdPersonalization are the consent
	// choices captured in the browser: ConsentGranted, ConsentDenied or ""
	// (unknown). A denied AnalyticsStorage is never sent.
	AnalyticsStorage  string
	AdUserData        string
	AdPersonalization string

	// SessionEventAt is a moment inside the browser session (e.g. when the
	// checkout button was pressed); it becomes timestamp_micros. Zero means
	// none: OccurredAt is sent instead.
	SessionEventAt time.Time
	// OccurredAt is the business time (e.g. payment captured). Zero means
	// the database's now() at insert.
	OccurredAt time.Time
	// Source names the code path that wrote the row ("stripe_webhook",
	// "checkout_api"); the report groups attribution gaps by it.
	Source string
	// MeasurementID routes the row to another GA4 property (G-...) listed in
	// the sidecar's configuration. Empty means the default property.
	MeasurementID string
}

// Item is one GA4 ecommerce item.
type Item struct {
	// ItemID or ItemName is required by GA for each item.
	ItemID   string
	ItemName string
	// Price is the exact unit price as decimal text, e.g. "24.95". Empty
	// means none.
	Price string
	// Quantity must not be negative. Zero means not set.
	Quantity int
	// Params are further item parameters (item_brand, item_category,
	// item_variant, custom ones).
	Params map[string]any
}

// FieldError reports a programmer error in a Conversion: the field that is
// wrong and the rule it breaks.
type FieldError struct {
	Field string // e.g. "Currency" or "Items[2].Quantity"
	Rule  string // what the value must be
}

func (e *FieldError) Error() string { return "outbox: conversion " + e.Field + ": " + e.Rule }

var (
	eventNameRe     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,39}$`)
	decimalRe       = regexp.MustCompile(`^-?[0-9]{1,15}(\.[0-9]{1,12})?$`)
	currencyRe      = regexp.MustCompile(`^[A-Za-z]{3}$`)
	measurementIDRe = regexp.MustCompile(`^G-[A-Z0-9]{4,20}$`)
)

// reservedParams are params keys that a Conversion fills from its own
// fields, or the sender fills.
var reservedParams = []string{"items", "transaction_id", "value", "currency", "session_id", "engagement_time_msec"}

// Validate returns a *FieldError for the first programmer error in c, or
// nil. Missing identifiers (client_id, session_id) are not errors.
func (c *Conversion) Validate() error {
	if err := c.validateEvent(); err != nil {
		return err
	}
	if err := c.validateConsent(); err != nil {
		return err
	}
	for i := range c.Items {
		if err := c.Items[i].validate(fmt.Sprintf("Items[%d]", i)); err != nil {
			return err
		}
	}
	for _, k := range reservedParams {
		if _, ok := c.Params[k]; ok {
			return &FieldError{"Params", fmt.Sprintf("key %q is reserved: set the Conversion field instead", k)}
		}
	}
	return nil
}

func (c *Conversion) validateEvent() error {
	switch {
	case c.EventName == "":
		return &FieldError{"EventName", "is required (e.g. purchase)"}
	case !eventNameRe.MatchString(c.EventName):
		return &FieldError{"EventName", fmt.Sprintf("%q must be letters, digits and _, start with a letter, at most 40 characters", c.EventName)}
	case c.TransactionID == "" && (c.EventName == "purchase" || c.EventName == "refund"):
		return &FieldError{"TransactionID", "is required for " + c.EventName + " (GA deduplicates by it)"}
	case c.Value != "" && !decimalRe.MatchString(c.Value):
		return &FieldError{"Value", fmt.Sprintf("%q must be a decimal number such as 49.90", c.Value)}
	case c.Currency != "" && !currencyRe.MatchString(c.Currency):
		return &FieldError{"Currency", fmt.Sprintf("%q must be a three-letter ISO 4217 code such as EUR", c.Currency)}
	case c.Value != "" && c.Currency == "":
		return &FieldError{"Currency", "is required when Value is set"}
	case c.MeasurementID != "" && !measurementIDRe.MatchString(c.MeasurementID):
		return &FieldError{"MeasurementID", fmt.Sprintf("%q must be a GA4 measurement id such as G-ABC123XYZ", c.MeasurementID)}
	}
	return nil
}

func (c *Conversion) validateConsent() error {
	for _, f := range []struct{ name, v string }{
		{"AnalyticsStorage", c.AnalyticsStorage},
		{"AdUserData", c.AdUserData},
		{"AdPersonalization", c.AdPersonalization},
	} {
		if f.v != "" && f.v != ConsentGranted && f.v != ConsentDenied {
			return &FieldError{f.name, fmt.Sprintf("%q must be %q, %q or empty (unknown)", f.v, ConsentGranted, ConsentDenied)}
		}
	}
	return nil
}

func (it *Item) validate(field string) error {
	switch {
	case it.Quantity < 0:
		return &FieldError{field + ".Quantity", fmt.Sprintf("%d must not be negative", it.Quantity)}
	case it.Price != "" && !decimalRe.MatchString(it.Price):
		return &FieldError{field + ".Price", fmt.Sprintf("%q must be a decimal number such as 24.95", it.Price)}
	case it.ItemID == "" && it.ItemName == "":
		return &FieldError{field, "needs ItemID or ItemName"}
	}
	return nil
}

// paramsJSON encodes Params plus Items as the params jsonb object.
func (c *Conversion) paramsJSON() ([]byte, error) {
	m := make(map[string]any, len(c.Params)+1)
	for k, v := range c.Params {
		m[k] = v
	}
	if len(c.Items) > 0 {
		items := make([]map[string]any, len(c.Items))
		for i, it := range c.Items {
			items[i] = it.toMap()
		}
		m["items"] = items
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, &FieldError{"Params", "cannot be encoded as JSON: " + err.Error()}
	}
	return b, nil
}

func (it *Item) toMap() map[string]any {
	m := make(map[string]any, len(it.Params)+4)
	for k, v := range it.Params {
		m[k] = v
	}
	if it.ItemID != "" {
		m["item_id"] = it.ItemID
	}
	if it.ItemName != "" {
		m["item_name"] = it.ItemName
	}
	if it.Price != "" {
		m["price"] = json.Number(it.Price)
	}
	if it.Quantity != 0 {
		m["quantity"] = it.Quantity
	}
	return m
}

// userPropertiesJSON encodes UserProperties, or nil (SQL NULL) when empty.
func (c *Conversion) userPropertiesJSON() ([]byte, error) {
	if len(c.UserProperties) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(c.UserProperties)
	if err != nil {
		return nil, &FieldError{"UserProperties", "cannot be encoded as JSON: " + err.Error()}
	}
	return b, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func upper(s string) string { return strings.ToUpper(s) }
