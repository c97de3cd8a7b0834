package ga4

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MarshalJSON encodes the request with a hand-written encoder for the
// value types a payload holds (strings, numbers, booleans, lists, objects);
// other Go types go through encoding/json. Object keys are sorted, as
// encoding/json sorts map keys, so output is identical to it except that
// <, > and & are not HTML-escaped.
func (r Request) MarshalJSON() ([]byte, error) {
	return appendRequest(make([]byte, 0, 512), &r)
}

func appendRequest(b []byte, r *Request) ([]byte, error) {
	b = append(b, '{')
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	if r.ClientID != "" {
		field("client_id")
		b = appendString(b, r.ClientID)
	}
	if r.UserID != "" {
		field("user_id")
		b = appendString(b, r.UserID)
	}
	if r.TimestampMicros != 0 {
		field("timestamp_micros")
		b = strconv.AppendInt(b, r.TimestampMicros, 10)
	}
	var err error
	if len(r.UserProperties) > 0 {
		field("user_properties")
		if b, err = appendUserProperties(b, r.UserProperties); err != nil {
			return nil, err
		}
	}
	if r.Consent != nil {
		field("consent")
		b = appendConsent(b, r.Consent)
	}
	if r.ValidationBehavior != "" {
		field("validation_behavior")
		b = appendString(b, r.ValidationBehavior)
	}
	field("events")
	if r.Events == nil {
		return append(b, "null}"...), nil
	}
	b = append(b, '[')
	for i := range r.Events {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendEvent(b, &r.Events[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']', '}'), nil
}

// MarshalJSON encodes the event like Request.MarshalJSON does.
func (e Event) MarshalJSON() ([]byte, error) {
	return appendEvent(make([]byte, 0, 256), &e)
}

func appendEvent(b []byte, e *Event) ([]byte, error) {
	b = append(b, `{"name":`...)
	b = appendString(b, e.Name)
	if e.TimestampMicros != 0 {
		b = append(b, `,"timestamp_micros":`...)
		b = strconv.AppendInt(b, e.TimestampMicros, 10)
	}
	if len(e.Params) == 0 {
		return append(b, '}'), nil
	}
	b = append(b, `,"params":`...)
	b, err := appendValue(b, e.Params)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendConsent(b []byte, c *Consent) []byte {
	b = append(b, '{')
	if c.AdUserData != "" {
		b = append(b, `"ad_user_data":`...)
		b = appendString(b, c.AdUserData)
	}
	if c.AdPersonalization != "" {
		if c.AdUserData != "" {
			b = append(b, ',')
		}
		b = append(b, `"ad_personalization":`...)
		b = appendString(b, c.AdPersonalization)
	}
	return append(b, '}')
}

func appendUserProperties(b []byte, props map[string]UserProperty) ([]byte, error) {
	keys := sortedKeysInto(make([]string, 0, 32), props)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, `:{"value":`...)
		p := props[k]
		if b, err = appendValue(b, p.Value); err != nil {
			return nil, err
		}
		if p.TimestampMicros != 0 {
			b = append(b, `,"timestamp_micros":`...)
			b = strconv.AppendInt(b, p.TimestampMicros, 10)
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// appendValue encodes the value types of params; anything else goes
// through encoding/json.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case json.Number:
		if !validNumber(string(x)) {
			return nil, &json.UnsupportedValueError{Str: "invalid number " + strconv.Quote(string(x))}
		}
		return append(b, x...), nil
	case float64:
		return appendFloat(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case map[string]any:
		return appendObject(b, x)
	case []any:
		return appendList(b, len(x), func(i int) any { return x[i] })
	case []map[string]any:
		return appendList(b, len(x), func(i int) any { return x[i] })
	}
	enc, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, enc...), nil
}

func appendObject(b []byte, m map[string]any) ([]byte, error) {
	keys := sortedKeysInto(make([]string, 0, 32), m)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if b, err = appendValue(b, m[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendList(b []byte, n int, at func(int) any) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = appendValue(b, at(i)); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendFloat formats like encoding/json.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, &json.UnsupportedValueError{Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // clean up e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, U+2028/U+2029
// escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if r == utf8.RuneError {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func sortedKeysInto[V any](keys []string, m map[string]V) []string {
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
