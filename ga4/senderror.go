package ga4

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// SendError is a request that was not delivered. Retryable is true for
// transport errors, timeouts, 408, 429 and 5xx (Google documents no retry
// rule; a retried purchase is made harmless by transaction_id dedup); other
// 4xx are permanent. Error() never contains the api_secret.
type SendError struct {
	Retryable bool
	// StatusCode is the HTTP status; 0 means a transport error.
	StatusCode int
	// RetryAfter is the server's Retry-After (429, 503); 0 when absent.
	RetryAfter time.Duration
	Err        error
}

// Error describes the failure without the api_secret.
func (e *SendError) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	var msg string
	switch {
	case e.StatusCode != 0 && e.Err != nil:
		msg = fmt.Sprintf("measurement protocol answered HTTP %d (%s): %v", e.StatusCode, kind, e.Err)
	case e.StatusCode != 0:
		msg = fmt.Sprintf("measurement protocol answered HTTP %d (%s)", e.StatusCode, kind)
	default:
		msg = fmt.Sprintf("measurement protocol request failed (%s): %v", kind, e.Err)
	}
	return scrub(msg)
}

// Unwrap returns the cause (already redacted).
func (e *SendError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a *SendError worth retrying.
func IsRetryable(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Retryable
}

func statusError(code int, retryAfterHeader string, answer []byte) *SendError {
	e := &SendError{StatusCode: code, Retryable: code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500}
	if e.Retryable {
		e.RetryAfter = retryAfter(retryAfterHeader, time.Now())
	}
	if s := strings.TrimSpace(string(answer)); s != "" {
		if len(s) > 200 {
			s = s[:200] + "..."
		}
		e.Err = errors.New(scrub(s))
	}
	return e
}

// retryAfter parses a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

var secretParam = regexp.MustCompile(`(?i)(api_secret(=|%3D))[^&\s"']*`)

// scrub replaces every api_secret query value in s.
func scrub(s string) string {
	return secretParam.ReplaceAllString(s, "${1}REDACTED")
}

// redact returns err with the URL of a *url.Error stripped of its
// api_secret, keeping the chain (timeouts, context errors) inspectable.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: scrub(ue.URL), Err: redactInner(ue.Err)}
	}
	return redactInner(err)
}

func redactInner(err error) error {
	if err == nil || !secretParam.MatchString(err.Error()) {
		return err
	}
	return errors.New(scrub(err.Error()))
}
