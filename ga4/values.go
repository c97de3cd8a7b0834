package ga4

import (
	"encoding/json"
	"math"
	"strconv"
)

// numberText returns the decimal text of a Go or JSON number.
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		if !validNumber(string(x)) {
			return "", false
		}
		return string(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case float32:
		return numberText(float64(x))
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	}
	return "", false
}

// isNumber reports whether v encodes as a JSON number.
func isNumber(v any) bool {
	_, ok := numberValue(v)
	return ok
}

// numberValue returns v as a float64 (for checks only), without
// allocating for the common types.
func numberValue(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		if !validNumber(string(x)) {
			return 0, false
		}
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil || isRangeErr(err)
	}
	s, ok := numberText(v)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil || isRangeErr(err)
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// validNumber reports whether s is a JSON number literal.
func validNumber(s string) bool {
	i, n := 0, len(s)
	if i < n && s[i] == '-' {
		i++
	}
	start := i
	for i < n && isDigit(s[i]) {
		i++
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return false
	}
	if i < n && s[i] == '.' {
		i++
		f := i
		for i < n && isDigit(s[i]) {
			i++
		}
		if i == f {
			return false
		}
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		e := i
		for i < n && isDigit(s[i]) {
			i++
		}
		if i == e {
			return false
		}
	}
	return i == n
}

// typeName names a value's JSON type for messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	if isNumber(v) {
		return "a number"
	}
	return "an unsupported value"
}
