package ga4

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// EventInput is what BuildEvent turns into one Measurement Protocol event:
// one outbox row as the builder sees it (no database types). It is not the
// application's outbox.Conversion, which Enqueue stores; the sidecar makes
// an EventInput of each claimed row.
type EventInput struct {
	// Key is the caller's id for this conversion (e.g. the outbox row id as
	// text); Batches echoes it back in Batch.Keys.
	Key           string
	EventName     string
	TransactionID string
	// Value is the exact decimal as text ("49.90"); "" means no value. It
	// is encoded as a JSON number with the same digits.
	Value    string
	Currency string
	// Params is a JSON object: items, tax, shipping, coupon, custom params
	// (may be nil). The first-class fields above win over the same keys in
	// it; null values are left out.
	Params json.RawMessage
	// UserProperties is a JSON object name -> value, or name ->
	// {"value": v, "timestamp_micros": t} (may be nil).
	UserProperties json.RawMessage
	// ClientID, SessionID and UserID are raw as captured: a whole _ga cookie
	// (also with its prefix twice), a GS1/GS2 session cookie or a GS2
	// fragment ("s1748934661$o208...") is normalised; see ClientIDForm and
	// SessionIDForm.
	ClientID, SessionID, UserID string
	// AdUserData and AdPersonalization are "granted", "denied" or "" (unknown:
	// that consent field is omitted, and GA uses the online consent).
	AdUserData, AdPersonalization string
	// SessionEventAt is the in-session moment (preferred timestamp); zero
	// means none.
	SessionEventAt time.Time
	// OccurredAt is the business time, used when SessionEventAt is zero.
	OccurredAt time.Time
	// EngagementTimeMsec is sent as engagement_time_msec. Zero means
	// DefaultEngagementTimeMsec (1).
	EngagementTimeMsec int64
}

// BuildEvent turns one conversion into a request for one client: client_id
// normalised (a whole "GA1.1.x.y" cookie becomes "x.y"), session_id
// normalised to a number, also when it is recovered from a cookie value or
// a GS2 fragment (an unusable one is left out; see usableSessionID), timestamp_micros = SessionEventAt else OccurredAt
// (else now), clamped to now so it is never in the future, session_id and
// engagement_time_msec in params, consent forwarded. It returns the request
// and the validation messages (nil when valid): values it cannot normalise
// are kept raw so that the messages name them. It never panics.
func BuildEvent(c EventInput, now time.Time) (Request, []Message) {
	var msgs []Message
	params, err := decodeObject(c.Params)
	if err != nil {
		msgs = append(msgs, Message{FieldPath: "events[0].params", Code: CodeValueInvalid, Description: "params: " + err.Error()})
	}
	setParams(params, &c, now)
	req := Request{
		ClientID: normalizedClientID(c.ClientID),
		UserID:   strings.TrimSpace(c.UserID),
		Consent:  buildConsent(c.AdUserData, c.AdPersonalization),
		Events: []Event{{
			Name:            strings.TrimSpace(c.EventName),
			TimestampMicros: eventTime(c, now).UnixMicro(),
			Params:          params,
		}},
	}
	props, err := decodeUserProperties(c.UserProperties)
	if err != nil {
		msgs = append(msgs, Message{FieldPath: "user_properties", Code: CodeValueInvalid, Description: "user_properties: " + err.Error()})
	}
	req.UserProperties = props
	return req, append(msgs, Validate(&req, now)...)
}

func setParams(p map[string]any, c *EventInput, now time.Time) {
	if tid := strings.TrimSpace(c.TransactionID); tid != "" {
		p["transaction_id"] = tid
	}
	if v := strings.TrimSpace(c.Value); v != "" {
		if validNumber(v) {
			p["value"] = json.Number(v)
		} else {
			p["value"] = v // kept as a string so Validate names it
		}
	}
	if cur := strings.TrimSpace(c.Currency); cur != "" {
		p["currency"] = strings.ToUpper(cur)
	}
	if n, ok := usableSessionID(c.SessionID, now); ok {
		p["session_id"] = n
	}
	p["engagement_time_msec"] = cmpOr(c.EngagementTimeMsec, DefaultEngagementTimeMsec)
}

// usableSessionID parses a captured session_id. An unusable one (garbage,
// milliseconds, before 2020, starting more than a day after now) is left
// out of the payload rather than failing the row: the event is sent without
// a session, so its revenue still counts, exactly as for a missing
// session_id, and the report (which reads the raw column) shows the lost
// attribution as invalid_session_id. A made-up session_id would create a
// new, sourceless session in GA anyway (see the reference, section 2.2).
func usableSessionID(raw string, now time.Time) (int64, bool) {
	sid := strings.TrimSpace(raw)
	if sid == "" {
		return 0, false
	}
	n, err := ParseSessionID(sid)
	if err != nil || n > now.Add(24*time.Hour).Unix() {
		return 0, false
	}
	return n, true
}

func cmpOr(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

func normalizedClientID(raw string) string {
	if id, err := NormalizeClientID(raw); err == nil {
		return id
	}
	return strings.TrimSpace(raw)
}

func buildConsent(adUserData, adPersonalization string) *Consent {
	c := Consent{AdUserData: consentValue(adUserData), AdPersonalization: consentValue(adPersonalization)}
	if c == (Consent{}) {
		return nil
	}
	return &c
}

// eventTime is SessionEventAt, else OccurredAt, else now; never after now.
func eventTime(c EventInput, now time.Time) time.Time {
	t := c.SessionEventAt
	if t.IsZero() {
		t = c.OccurredAt
	}
	if t.IsZero() || t.After(now) {
		return now
	}
	return t
}

// decodeObject decodes a JSON object keeping numbers exact and dropping
// null values. nil or "null" gives an empty map.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return map[string]any{}, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return map[string]any{}, errors.New("not valid JSON: data after the object")
	}
	switch x := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
			}
		}
		return x, nil
	}
	return map[string]any{}, fmt.Errorf("must be a JSON object, not %s", typeName(v))
}

func decodeUserProperties(raw json.RawMessage) (map[string]UserProperty, error) {
	obj, err := decodeObject(raw)
	if err != nil || len(obj) == 0 {
		return nil, err
	}
	props := make(map[string]UserProperty, len(obj))
	for name, v := range obj {
		up := UserProperty{Value: v}
		if m, ok := v.(map[string]any); ok {
			if val, has := m["value"]; has {
				up.Value = val
				if ts, ok := m["timestamp_micros"].(json.Number); ok {
					up.TimestampMicros, _ = ts.Int64()
				}
			}
		}
		props[name] = up
	}
	return props, nil
}
