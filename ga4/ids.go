package ga4

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// minSessionStart is the earliest plausible session start: 2020-01-01 UTC.
// GA4 session ids are session starts in Unix seconds, so anything earlier
// is a made-up or mangled value.
const minSessionStart = 1577836800

// ParseSessionID parses a session_id as captured in the browser: a digit
// string of 10 digits (Unix seconds of the session start) not before
// 2020-01-01. It also recovers the session id from a whole GS1 or GS2
// session cookie value and from a GS2 fragment ("s1748934661$o208$g1...",
// the value after "GS2.1." that some integrations sent), URL-encoded or
// not (see ParseSessionCookie); SessionIDForm tells the forms apart. It
// rejects milliseconds (13 digits) and microseconds with an error that says
// so. Whether the start is in the future is the caller's concern (Validate
// rejects a start more than a day ahead of its now).
func ParseSessionID(s string) (int64, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return 0, errors.New("session_id is empty")
	case sessionCookieLike(s):
		c, err := ParseSessionCookie(s)
		if err != nil {
			return 0, fmt.Errorf("session_id: %w", err)
		}
		return c.SessionID, nil
	case !allDigits(s):
		return 0, fmt.Errorf("session_id %q is not a number: it must be the session start in Unix seconds (10 digits), as gtag('get', ..., 'session_id') returns it", clip(s))
	case len(s) == 13:
		return 0, fmt.Errorf("session_id %s looks like milliseconds: it must be the session start in Unix seconds (10 digits)", s)
	case len(s) == 16:
		return 0, fmt.Errorf("session_id %s looks like microseconds: it must be the session start in Unix seconds (10 digits)", s)
	case len(s) != 10:
		return 0, fmt.Errorf("session_id %s is not a plausible session start: it must be Unix seconds (10 digits)", clip(s))
	}
	n, _ := strconv.ParseInt(s, 10, 64) // 10 digits always fit
	if n < minSessionStart {
		return 0, fmt.Errorf("session_id %s is before 2020-01-01: not a GA4 session start", s)
	}
	return n, nil
}

// sessionCookieLike reports whether a trimmed session_id is meant as a
// session cookie value or a GS2 fragment, possibly URL-encoded.
func sessionCookieLike(s string) bool {
	return strings.HasPrefix(s, "GS1.") || strings.HasPrefix(s, "GS2.") || isGS2Fragment(s)
}

// NormalizeClientID returns the client_id in the form Google recommends:
// two positive integers joined by a dot ("1197596843.1673515099"). A whole
// _ga cookie value ("GA1.1.1197596843.1673515099", also with the prefix
// twice) becomes its last two parts (ClientIDFromCookie). A UUID, an AMP
// client id ("amp-..."), an email address or anything else is an error (an
// email would also leak personal data); ClientIDForm tells UUIDs and AMP
// ids (IDNonGA) apart from garbage.
func NormalizeClientID(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("client_id is empty")
	case isClientID(s):
		return s, nil
	case strings.HasPrefix(s, "GA"):
		return ClientIDFromCookie(s)
	case strings.Contains(s, "@"):
		return "", errors.New("client_id looks like an email address: it must be the GA tag's client id (two numbers joined by a dot), never personal data")
	case looksLikeUUID(s):
		return "", fmt.Errorf("client_id %q looks like a UUID: it must be the GA tag's client id (two numbers joined by a dot, e.g. 1197596843.1673515099)", s)
	case looksLikeAMPClientID(s):
		return "", fmt.Errorf("client_id %q is an AMP client id: it must be the GA tag's client id (two numbers joined by a dot, e.g. 1197596843.1673515099)", clip(s))
	}
	return "", fmt.Errorf("client_id %q is not two positive integers joined by a dot (e.g. 1197596843.1673515099)", clip(s))
}

// isClientID reports whether s is two positive integers (at most 19 digits
// each) joined by a dot.
func isClientID(s string) bool {
	a, b, ok := strings.Cut(s, ".")
	return ok && positiveInt(a) && positiveInt(b)
}

func positiveInt(s string) bool {
	if !allDigits(s) || len(s) > 19 {
		return false
	}
	return strings.TrimLeft(s, "0") != ""
}

func looksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// looksLikeAMPClientID reports whether s is an AMP client id: "amp-"
// followed by 8 to 96 characters of the base64url alphabet.
func looksLikeAMPClientID(s string) bool {
	rest, ok := strings.CutPrefix(s, "amp-")
	if !ok || len(rest) < 8 || len(rest) > 96 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !isDigit(c) && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// clip shortens s for error messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// sessionStart returns the session start of a session_id param value (a
// number or a string), or an error.
func sessionStart(v any) (time.Time, error) {
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int64:
		if x >= minSessionStart && x <= 9999999999 {
			return time.Unix(x, 0), nil
		}
		s = strconv.FormatInt(x, 10)
	default:
		n, ok := numberText(v)
		if !ok {
			return time.Time{}, fmt.Errorf("session_id must be a number or a digit string, not %s", typeName(v))
		}
		s = n
	}
	sec, err := ParseSessionID(s)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, 0), nil
}
