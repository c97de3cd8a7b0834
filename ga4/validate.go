package ga4

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks a request against every Measurement Protocol rule this
// package knows and returns the problems (nil when valid), with Google's
// validation codes. now is the send time: timestamps must not be after it
// nor more than 72 h before it.
//
// Field paths: a problem with an event's name uses "events", as Google's
// validator does ("Event at index: [0] has invalid name [...]"); everything
// else uses an exact path such as "events[0].params.items[2].price",
// "user_properties.plan", "consent.ad_user_data", "client_id" or "body".
//
// Where Google's rules are undocumented or only a recommendation Validate
// is strict: a whole _ga cookie in client_id or _ga_<ID> cookie in
// session_id (GA takes them since 2026-02-17 but recommends the plain ids;
// the message names the id to send), a GS2 fragment in session_id, a
// future timestamp, a null parameter, a currency that is not an upper-case
// ISO 4217 code and the app-only event names are all problems. Missing session_id is not a validation problem (Google accepts
// it); it is an attribution problem, see CheckAttribution.
func Validate(r *Request, now time.Time) []Message {
	if r == nil {
		return []Message{{FieldPath: "body", Code: CodeValueRequired, Description: "The request is empty."}}
	}
	v := &validator{now: now}
	v.request(r)
	return v.msgs
}

type validator struct {
	now  time.Time
	msgs []Message
}

func (v *validator) add(path, code, format string, args ...any) {
	v.msgs = append(v.msgs, Message{FieldPath: path, Code: code, Description: fmt.Sprintf(format, args...)})
}

func (v *validator) request(r *Request) {
	v.clientID(r.ClientID)
	v.userID(r.UserID)
	v.timestamp("timestamp_micros", r.TimestampMicros)
	v.consent(r.Consent)
	if b := r.ValidationBehavior; b != "" && b != ValidationRelaxed && b != ValidationEnforce {
		v.add("validation_behavior", CodeValueInvalid, "validation_behavior [%s] must be RELAXED or ENFORCE_RECOMMENDATIONS.", clip(b))
	}
	v.userProperties(r.UserProperties)
	switch n := len(r.Events); {
	case n == 0:
		v.add("events", CodeValueRequired, "A request needs at least one event.")
	case n > MaxEventsPerRequest:
		v.add("events", CodeExceededMaxEntities, "A request may carry at most %d events; it has %d.", MaxEventsPerRequest, n)
	}
	for i := range r.Events {
		v.event(i, &r.Events[i], r.TimestampMicros)
	}
	if upperBound(r) >= MaxBodyBytes {
		if n := encodedLen(r); n >= MaxBodyBytes {
			v.add("body", CodeValueOutOfBounds, "The encoded request is %d bytes; it must be smaller than %d bytes.", n, MaxBodyBytes)
		}
	}
}

func (v *validator) clientID(id string) {
	switch {
	case id == "":
		v.add("client_id", CodeValueRequired, "client_id is required for a web stream.")
	case !isClientID(id):
		if norm, err := NormalizeClientID(id); err == nil {
			v.add("client_id", CodeValueInvalid, "client_id [%s] is a whole _ga cookie value; send [%s] (NormalizeClientID): GA takes cookie values since 2026-02-17 but recommends the plain id.", clip(id), norm)
		} else {
			v.add("client_id", CodeValueInvalid, "%s", err.Error())
		}
	}
}

var emailLike = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func (v *validator) userID(id string) {
	switch {
	case id == "":
	case !utf8.ValidString(id):
		v.add("user_id", CodeValueInvalid, "user_id must be valid UTF-8.")
	case utf8.RuneCountInString(id) > MaxUserIDLen:
		v.add("user_id", CodeValueOutOfBounds, "user_id may be at most %d characters long.", MaxUserIDLen)
	case emailLike.MatchString(id):
		v.add("user_id", CodeValueInvalid, "user_id looks like an email address; GA forbids personal data in user_id.")
	}
}

// timestamp checks a timestamp_micros value (0 = absent).
func (v *validator) timestamp(path string, ts int64) {
	if ts == 0 {
		return
	}
	nowMicros := v.now.UnixMicro()
	switch {
	case ts < 0:
		v.add(path, CodeValueInvalid, "%s must be positive microseconds since the Unix epoch.", path)
	case ts < 1e14:
		v.add(path, CodeValueInvalid, "%s [%d] looks like seconds or milliseconds; it must be microseconds (16 digits).", path, ts)
	case ts > nowMicros:
		v.add(path, CodeValueInvalid, "%s [%d] is in the future (send time %d); GA accepts only past timestamps.", path, ts, nowMicros)
	case ts < nowMicros-MaxTimestampAge.Microseconds():
		v.add(path, CodeValueOutOfBounds, "%s [%d] is more than 72 hours before the send time; GA moves it to 72 hours ago or rejects it.", path, ts)
	}
}

func (v *validator) consent(c *Consent) {
	if c == nil {
		return
	}
	check := func(path, val string) {
		if val != "" && val != WireConsentGranted && val != WireConsentDenied {
			v.add(path, CodeValueInvalid, "%s [%s] must be GRANTED or DENIED.", path, clip(val))
		}
	}
	check("consent.ad_user_data", c.AdUserData)
	check("consent.ad_personalization", c.AdPersonalization)
}

func (v *validator) userProperties(props map[string]UserProperty) {
	if len(props) > MaxUserProperties {
		v.add("user_properties", CodeExceededMaxEntities, "A request may carry at most %d user properties; it has %d.", MaxUserProperties, len(props))
	}
	mark := len(v.msgs)
	defer v.sortFrom(mark)
	for name, p := range props {
		path := "user_properties." + name
		switch {
		case in(reservedUserProps, name):
			v.add(path, CodeNameReserved, "User property name [%s] is reserved.", name)
		case reservedPrefix(name, reservedUserPropPrefixes) != "":
			v.add(path, CodeNameReserved, "User property name [%s] starts with the reserved prefix [%s].", name, reservedPrefix(name, reservedUserPropPrefixes))
		default:
			if why := nameSyntax(name, MaxUserPropNameLen); why != "" {
				v.add(path, CodeNameInvalid, "User property has invalid name [%s]. %s", clip(name), why)
			}
		}
		v.userPropertyValue(path, p.Value)
		v.timestamp(path+".timestamp_micros", p.TimestampMicros)
	}
}

func (v *validator) userPropertyValue(path string, val any) {
	switch x := val.(type) {
	case string:
		if utf8.RuneCountInString(x) > MaxUserPropValueLen {
			v.add(path+".value", CodeValueOutOfBounds, "User property values may be at most %d characters long.", MaxUserPropValueLen)
		}
	case bool:
	default:
		if !isNumber(val) {
			v.add(path+".value", CodeValueInvalid, "User property value must be a string, number or boolean, not %s.", typeName(val))
		}
	}
}

// evPath returns "events[i]" + suffix; paths are only built for messages.
func evPath(i int, suffix string) string {
	return "events[" + strconv.Itoa(i) + "]" + suffix
}

// sortFrom orders the messages added since mark by field path, so that
// messages from map iteration are stable.
func (v *validator) sortFrom(mark int) {
	if len(v.msgs)-mark > 1 {
		slices.SortStableFunc(v.msgs[mark:], func(a, b Message) int { return strings.Compare(a.FieldPath, b.FieldPath) })
	}
}

func (v *validator) event(i int, e *Event, requestTS int64) {
	v.eventName(i, e.Name)
	if e.TimestampMicros != 0 {
		v.timestamp(evPath(i, ".timestamp_micros"), e.TimestampMicros)
	}
	if len(e.Params) > MaxParamsPerEvent {
		v.add(evPath(i, ".params"), CodeExceededMaxEntities, "An event may carry at most %d parameters; it has %d.", MaxParamsPerEvent, len(e.Params))
	}
	mark := len(v.msgs)
	for name, val := range e.Params {
		if name == "items" {
			continue // checked in commerce
		}
		v.param(i, -1, name, val)
	}
	v.sortFrom(mark)
	v.session(i, e, requestTS)
	v.commerce(i, e)
}

func (v *validator) eventName(i int, name string) {
	switch {
	case name == "":
		v.add("events", CodeValueRequired, "Event at index: [%d] has no name.", i)
	case in(reservedEvents, name):
		v.add("events", CodeNameReserved, "Event at index: [%d] has name [%s] which is reserved.", i, name)
	default:
		if why := nameSyntax(name, MaxEventNameLen); why != "" {
			v.add("events", CodeNameInvalid, "Event at index: [%d] has invalid name [%s]. %s", i, clip(name), why)
		}
	}
}

// paramPath is the path of event ev's parameter, or of its item's
// parameter when item >= 0.
func paramPath(ev, item int, name string) string {
	if item < 0 {
		return evPath(ev, ".params."+name)
	}
	return evPath(ev, ".params.items["+strconv.Itoa(item)+"]."+name)
}

// param checks one event parameter (item < 0) or item parameter.
func (v *validator) param(ev, item int, name string, val any) {
	if !v.paramName(ev, item, name) {
		return
	}
	switch x := val.(type) {
	case string:
		if in(numericParams, name) {
			v.add(paramPath(ev, item, name), CodeValueInvalid, "Parameter [%s] must be a JSON number, not a string [%s]; GA counts a string value as zero.", name, clip(x))
		} else if len(x) > MaxParamValueLen && utf8.RuneCountInString(x) > MaxParamValueLen && name != "session_id" && name != "session_number" {
			v.add(paramPath(ev, item, name), CodeValueOutOfBounds, "Parameter [%s] is %d characters long; values may be at most %d.", name, utf8.RuneCountInString(x), MaxParamValueLen)
		}
	case nil:
		v.add(paramPath(ev, item, name), CodeValueInvalid, "Parameter [%s] is null; leave it out instead.", name)
	case bool:
		if in(numericParams, name) {
			v.add(paramPath(ev, item, name), CodeValueInvalid, "Parameter [%s] must be a JSON number, not a boolean.", name)
		}
	case []any, []map[string]any:
		v.add(paramPath(ev, item, name), CodeValueInvalid, "Parameter [%s] is a list; only items may be a list.", name)
	default:
		if !isNumber(val) {
			v.add(paramPath(ev, item, name), CodeValueInvalid, "Parameter [%s] must be a string, number or boolean, not %s.", name, typeName(val))
		}
	}
}

func (v *validator) paramName(ev, item int, name string) bool {
	switch {
	case in(reservedParams, name):
		v.add(paramPath(ev, item, name), CodeNameReserved, "Parameter name [%s] is reserved.", name)
	case reservedPrefix(name, reservedParamPrefixes) != "":
		v.add(paramPath(ev, item, name), CodeNameReserved, "Parameter name [%s] starts with the reserved prefix [%s].", name, reservedPrefix(name, reservedParamPrefixes))
	default:
		why := nameSyntax(name, MaxParamNameLen)
		if why == "" {
			return true
		}
		v.add(paramPath(ev, item, name), CodeNameInvalid, "Parameter has invalid name [%s]. %s", clip(name), why)
	}
	return false
}

// session checks session_id, engagement_time_msec and that the event's
// time is not before the session started.
func (v *validator) session(i int, e *Event, requestTS int64) {
	if et, ok := e.Params["engagement_time_msec"]; ok {
		if f, isNum := numberValue(et); !isNum || f < 0 {
			v.add(evPath(i, ".params.engagement_time_msec"), CodeValueInvalid, "engagement_time_msec must be a non-negative number of milliseconds.")
		}
	}
	sid, ok := e.Params["session_id"]
	if !ok {
		return
	}
	start, err := sessionStart(sid)
	if err != nil {
		v.add(evPath(i, ".params.session_id"), CodeValueInvalid, "%s", err.Error())
		return
	}
	if start.After(v.now.Add(24 * time.Hour)) {
		v.add(evPath(i, ".params.session_id"), CodeValueInvalid, "session_id [%d] starts more than a day after the send time.", start.Unix())
		return
	}
	if raw, isText := sid.(string); isText {
		v.recoveredSessionID(i, raw, start.Unix())
	}
	ts := e.TimestampMicros
	if ts == 0 {
		ts = requestTS
	}
	if ts != 0 && ts < start.UnixMicro() {
		tsPath := "timestamp_micros"
		if e.TimestampMicros != 0 {
			tsPath = evPath(i, ".timestamp_micros")
		}
		v.add(tsPath, CodeValueInvalid, "Event time [%d] is before its session started (session_id %d); GA cannot attribute it.", ts, start.Unix())
	}
}

// recoveredSessionID flags a session_id sent as a cookie value or a GS2
// fragment, naming the session start to send instead: GA takes whole
// cookie values since 2026-02-17 but recommends the plain id, and a
// fragment is no form GA documents.
func (v *validator) recoveredSessionID(i int, raw string, start int64) {
	switch SessionIDForm(raw) {
	case IDCookie:
		v.add(evPath(i, ".params.session_id"), CodeValueInvalid, "session_id [%s] is a whole _ga_<ID> cookie value; send its session start [%d] (ParseSessionID): GA takes cookie values since 2026-02-17 but recommends the plain id.", clip(raw), start)
	case IDFragment:
		v.add(evPath(i, ".params.session_id"), CodeValueInvalid, "session_id [%s] is a fragment of a GS2 _ga_<ID> cookie, a form GA does not document; send its session start [%d] (ParseSessionID).", clip(raw), start)
	}
}

// commerce checks transaction_id, value/currency and items.
func (v *validator) commerce(i int, e *Event) {
	p := e.Params
	tid, hasTID := p["transaction_id"]
	switch s, isString := tid.(string); {
	case !hasTID && in(transactionEvents, e.Name):
		v.add(evPath(i, ".params.transaction_id"), CodeValueRequired, "A %s event needs a transaction_id.", e.Name)
	case hasTID && !isString:
		v.add(evPath(i, ".params.transaction_id"), CodeValueInvalid, "transaction_id must be a string, not %s.", typeName(tid))
	case hasTID && s == "":
		v.add(evPath(i, ".params.transaction_id"), CodeValueInvalid, "transaction_id must not be empty: GA treats every purchase with an empty transaction_id as a duplicate of the others.")
	}
	cur, hasCur := p["currency"]
	_, hasValue := p["value"]
	switch c, _ := cur.(string); {
	case hasValue && !hasCur:
		v.add(evPath(i, ".params.currency"), CodeValueRequired, "currency is required when value is set (an ISO 4217 code such as EUR).")
	case hasCur && !in(iso4217, c):
		v.add(evPath(i, ".params.currency"), CodeValueInvalid, "currency [%s] is not an upper-case ISO 4217 code (e.g. EUR, USD).", clip(fmt.Sprint(cur)))
	}
	if items, ok := p["items"]; ok {
		v.items(i, items)
	}
	if val, ok := p["value"]; ok && e.Name == "refund" && negative(val) {
		v.add(evPath(i, ".params.value"), CodeValueInvalid, "A refund's value [%v] must not be negative: send the amount refunded.", val)
	}
}

// negative reports whether a JSON number (as decoded or built) is below 0.
func negative(val any) bool {
	switch x := val.(type) {
	case json.Number:
		return strings.HasPrefix(strings.TrimSpace(string(x)), "-")
	case float64:
		return x < 0
	case int:
		return x < 0
	case int64:
		return x < 0
	}
	return false
}

func (v *validator) items(ev int, items any) {
	var n int
	var at func(int) any
	switch x := items.(type) {
	case []any:
		n, at = len(x), func(j int) any { return x[j] }
	case []map[string]any:
		n, at = len(x), func(j int) any { return x[j] }
	default:
		v.add(evPath(ev, ".params.items"), CodeValueInvalid, "items must be a list of objects, not %s.", typeName(items))
		return
	}
	if n > MaxItemsPerEvent {
		v.add(evPath(ev, ".params.items"), CodeExceededMaxEntities, "An event may carry at most %d items; it has %d.", MaxItemsPerEvent, n)
	}
	for j := range n {
		v.item(ev, j, at(j))
	}
}

func itemPath(ev, j int) string { return evPath(ev, ".params.items["+strconv.Itoa(j)+"]") }

func (v *validator) item(ev, j int, it any) {
	m, ok := it.(map[string]any)
	if !ok {
		v.add(itemPath(ev, j), CodeValueInvalid, "An item must be an object, not %s.", typeName(it))
		return
	}
	id, _ := m["item_id"].(string)
	name, _ := m["item_name"].(string)
	if id == "" && name == "" {
		v.add(itemPath(ev, j), CodeValueRequired, "An item needs item_id or item_name.")
	}
	custom, mark := 0, len(v.msgs)
	for k, val := range m {
		if !in(standardItemParams, k) {
			custom++
		}
		v.param(ev, j, k, val)
	}
	v.sortFrom(mark)
	if custom > MaxCustomItemParams {
		v.add(itemPath(ev, j), CodeExceededMaxEntities, "An item may carry at most %d custom parameters; it has %d.", MaxCustomItemParams, custom)
	}
}
