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
// parts, both positive integers. The format is not documented by Google;
// this follows the robust third-party rule.
func ClientIDFromCookie(value string) (string, error) {
	v := strings.TrimSpace(value)
	parts := strings.Split(v, ".")
	if len(parts) != 4 || len(parts[0]) < 3 || !strings.HasPrefix(parts[0], "GA") || !allDigits(parts[0][2:]) {
		return "", fmt.Errorf("_ga cookie %q is not GA<version>.<level>.<random>.<timestamp>", clip(v))
	}
	id := parts[2] + "." + parts[3]
	if !isClientID(id) {
		return "", fmt.Errorf("_ga cookie %q: the last two parts must be positive integers", clip(v))
	}
	return id, nil
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
// order, unknown keys ignored). A URL-encoded value ("%24" for "$") is
// decoded first. The session id must be a plausible session start (see
// ParseSessionID). Garbage gives an error.
func ParseSessionCookie(value string) (SessionCookie, error) {
	v := strings.TrimSpace(value)
	if strings.Contains(v, "%") {
		if d, err := url.QueryUnescape(v); err == nil {
			v = d
		}
	}
	switch {
	case strings.HasPrefix(v, "GS1."):
		return parseGS1(v)
	case strings.HasPrefix(v, "GS2."):
		return parseGS2(v)
	}
	return SessionCookie{}, fmt.Errorf("session cookie %q is neither GS1 nor GS2", clip(v))
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

func parseGS2(v string) (SessionCookie, error) {
	p := strings.SplitN(v, ".", 3)
	if len(p) < 3 || !allDigits(p[1]) {
		return SessionCookie{}, fmt.Errorf("GS2 session cookie %q does not start with GS2.<level>.", clip(v))
	}
	c := SessionCookie{Format: "GS2"}
	seen := false
	for _, item := range strings.Split(p[2], "$") {
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
