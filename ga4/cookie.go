package ga4

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ClientIDFromCookie turns a _ga cookie value ("GA1.1.1197596843.1673515099")
// into a client_id ("1197596843.1673515099"): the last two dot-separated
// parts, both positive integers of at most 19 digits, after one or more
// GA<version>.<domain level> prefixes. Values with the prefix twice
// ("GA1.1.GA1.2.202830711.1689950339") are seen in the wild; the id is the
// same last two parts. Surrounding white space is ignored. The format is not
// documented by Google; this follows the robust third-party rule (see
// docs/IDS.md).
func ClientIDFromCookie(value string) (string, error) {
	v := strings.TrimSpace(value)
	parts := strings.Split(v, ".")
	n := len(parts)
	if n < 4 || n%2 != 0 || !cookiePrefixes(parts[:n-2]) {
		return "", fmt.Errorf("_ga cookie %q is not GA<version>.<level>.<random>.<timestamp>", clip(v))
	}
	id := parts[n-2] + "." + parts[n-1]
	if !isClientID(id) {
		return "", fmt.Errorf("_ga cookie %q: the last two parts must be positive integers", clip(v))
	}
	return id, nil
}

// cookiePrefixes reports whether p is one or more GA<version>.<level>
// pairs (the level is not checked: it may carry a "-<path>" suffix).
func cookiePrefixes(p []string) bool {
	for i := 0; i < len(p); i += 2 {
		if len(p[i]) < 3 || !strings.HasPrefix(p[i], "GA") || !allDigits(p[i][2:]) {
			return false
		}
	}
	return true
}

// SessionCookieName returns the name of the session cookie for a
// measurement id: "_ga_" followed by the id without its "G-" prefix
// (G-ABC123XYZ -> _ga_ABC123XYZ).
func SessionCookieName(measurementID string) string {
	return "_ga_" + strings.TrimPrefix(strings.TrimSpace(measurementID), "G-")
}

// SessionCookie is what a _ga_<ID> cookie says about the current session.
type SessionCookie struct {
	Format        string    // "GS1" or "GS2"
	SessionID     int64     // session start, Unix seconds: the session_id to send
	SessionNumber int64     // sessions this browser has started; 0 when absent
	Engaged       bool      // session engaged flag
	LastHit       time.Time // last event of the session; zero when absent
}

// ParseSessionCookie parses a _ga_<ID> cookie value in the old GS1 format
// (dot-positional: "GS1.1.<session_id>.<number>.<engaged>.<last hit>...",
// at least the session id and number) or the GS2 format rolled out in 2025
// ("GS2.1.s<session_id>$o<number>$g<engaged>$t<last hit>...", keys in any
// order, unknown keys ignored). It also takes a GS2 fragment: the part after
// "GS2.<level>." ("s<session_id>$o<number>..."), which integrations that
// split the value at its dots have stored and sent; it must start with its
// s item, and its Format is "GS2". Surrounding white space and spaces
// around a "$" are ignored, and a URL-encoded value ("%24" for "$") is
// decoded first. The session id must be a plausible session start (see
// ParseSessionID). Garbage gives an error.
func ParseSessionCookie(value string) (SessionCookie, error) {
	v := strings.TrimSpace(value)
	if strings.Contains(v, "%") {
		if d, err := url.QueryUnescape(v); err == nil {
			v = strings.TrimSpace(d)
		}
	}
	switch {
	case strings.HasPrefix(v, "GS1."):
		return parseGS1(v)
	case strings.HasPrefix(v, "GS2."):
		p := strings.SplitN(v, ".", 3)
		if len(p) < 3 || !allDigits(p[1]) {
			return SessionCookie{}, fmt.Errorf("GS2 session cookie %q does not start with GS2.<level>.", clip(v))
		}
		return parseGS2(v, p[2])
	case isGS2Fragment(v):
		return parseGS2(v, v)
	}
	return SessionCookie{}, fmt.Errorf("session cookie %q is neither GS1 nor GS2", clip(v))
}

// isGS2Fragment reports whether v starts like the body of a GS2 value: an
// s item with a digit after its key.
func isGS2Fragment(v string) bool {
	return len(v) > 1 && v[0] == 's' && isDigit(v[1])
}

func parseGS1(v string) (SessionCookie, error) {
	p := strings.Split(v, ".")
	if len(p) < 4 {
		return SessionCookie{}, fmt.Errorf("GS1 session cookie %q has fewer than 4 parts", clip(v))
	}
	c := SessionCookie{Format: "GS1"}
	var err error
	if c.SessionID, err = cookieSessionID(p[2]); err != nil {
		return SessionCookie{}, err
	}
	if c.SessionNumber, err = cookieInt("session number", p[3]); err != nil {
		return SessionCookie{}, err
	}
	if len(p) > 4 {
		c.Engaged = p[4] == "1"
	}
	if len(p) > 5 {
		if c.LastHit, err = cookieTime(p[5]); err != nil {
			return SessionCookie{}, err
		}
	}
	return c, nil
}

// parseGS2 parses the $-separated items of body, a GS2 value v after its
// "GS2.<level>." prefix (or a fragment: then body is v).
func parseGS2(v, body string) (SessionCookie, error) {
	c := SessionCookie{Format: "GS2"}
	seen := false
	items := strings.Split(body, "$")
	for i, item := range items {
		// Spaces next to a "$" are dropped, as the report's SQL drops them.
		if i > 0 {
			item = strings.TrimLeft(item, " ")
		}
		if i < len(items)-1 {
			item = strings.TrimRight(item, " ")
		}
		if item == "" {
			continue
		}
		var err error
		key, val := item[0], item[1:]
		switch key {
		case 's':
			c.SessionID, err = cookieSessionID(val)
			seen = err == nil
		case 'o':
			c.SessionNumber, err = cookieInt("session number", val)
		case 'g':
			c.Engaged = val == "1"
		case 't':
			c.LastHit, err = cookieTime(val)
		}
		if err != nil {
			return SessionCookie{}, err
		}
	}
	if !seen {
		return SessionCookie{}, fmt.Errorf("GS2 session cookie %q has no s<session_id> item", clip(v))
	}
	return c, nil
}

func cookieSessionID(s string) (int64, error) {
	if !allDigits(s) {
		return 0, fmt.Errorf("session cookie: session id %q is not a number", clip(s))
	}
	return ParseSessionID(s)
}

func cookieInt(what, s string) (int64, error) {
	if !allDigits(s) || len(s) > 18 {
		return 0, fmt.Errorf("session cookie: %s %q is not a number", what, clip(s))
	}
	return strconv.ParseInt(s, 10, 64)
}

var errLastHit = errors.New("session cookie: last hit is not Unix seconds (10 digits)")

func cookieTime(s string) (time.Time, error) {
	if len(s) != 10 || !allDigits(s) {
		return time.Time{}, errLastHit
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Unix(n, 0).UTC(), nil
}
