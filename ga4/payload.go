package ga4

import (
	"strings"
	"time"
)

// Request is one Measurement Protocol request body, encoded exactly as
// Google documents it. Events carry session_id and engagement_time_msec in
// their Params.
type Request struct {
	ClientID           string                  `json:"client_id,omitempty"`
	UserID             string                  `json:"user_id,omitempty"`
	TimestampMicros    int64                   `json:"timestamp_micros,omitempty"`
	UserProperties     map[string]UserProperty `json:"user_properties,omitempty"`
	Consent            *Consent                `json:"consent,omitempty"`
	ValidationBehavior string                  `json:"validation_behavior,omitempty"`
	Events             []Event                 `json:"events"`
}

// Event is one event of a request. Params values are strings, booleans,
// numbers (Go numbers or json.Number, never strings for value, tax,
// shipping, price or quantity) and, for "items", a list of objects.
type Event struct {
	Name            string         `json:"name"`
	TimestampMicros int64          `json:"timestamp_micros,omitempty"`
	Params          map[string]any `json:"params,omitempty"`
}

// UserProperty is one user property value with its optional timestamp.
type UserProperty struct {
	Value           any   `json:"value"`
	TimestampMicros int64 `json:"timestamp_micros,omitempty"`
}

// Consent carries the two consent signals the Measurement Protocol knows.
// Each is WireConsentGranted, WireConsentDenied or "" (omitted: GA then
// uses the consent of the matching online interactions for the client_id).
type Consent struct {
	AdUserData        string `json:"ad_user_data,omitempty"`
	AdPersonalization string `json:"ad_personalization,omitempty"`
}

// Consent values on the wire (Consent's fields), upper case as Google
// requires. They are not the values an application stores:
// outbox.ConsentGranted and EventInput's consent fields are the lower-case
// "granted" and "denied" that gtag reports; BuildEvent converts them.
const (
	WireConsentGranted = "GRANTED"
	WireConsentDenied  = "DENIED"
)

// Validation behaviours for Request.ValidationBehavior. "" means RELAXED,
// which production traffic should use.
const (
	ValidationRelaxed = "RELAXED"
	ValidationEnforce = "ENFORCE_RECOMMENDATIONS"
)

// Measurement Protocol limits (see the package documentation for sources).
const (
	MaxEventsPerRequest   = 25
	MaxParamsPerEvent     = 25
	MaxUserProperties     = 25
	MaxItemsPerEvent      = 200
	MaxCustomItemParams   = 10 // the MP page's limit; general GA4 docs say 27, we keep the stricter one
	MaxEventNameLen       = 40
	MaxParamNameLen       = 40
	MaxParamValueLen      = 100 // standard properties; GA4 360 allows 500, we keep the stricter one
	MaxUserPropNameLen    = 24
	MaxUserPropValueLen   = 36
	MaxUserIDLen          = 256
	MaxBodyBytes          = 130_000 // a body must be strictly smaller than this
	MaxTimestampAge       = 72 * time.Hour
	MaxAttributionLatency = 24 * time.Hour
)

// SessionTimeout is GA4's default session inactivity timeout (30 minutes).
const SessionTimeout = 30 * time.Minute

// DefaultEngagementTimeMsec is what BuildEvent puts in engagement_time_msec
// when the conversion does not say (Google documents no exact value for a
// server-side event; libraries send a small positive number).
const DefaultEngagementTimeMsec = 1

// consentValue maps "granted"/"denied" (any case) to the MP spelling; ""
// stays "" (omitted). Anything else is upper-cased so Validate names it.
func consentValue(s string) string {
	return strings.ToUpper(strings.TrimSpace(s))
}
