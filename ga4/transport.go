package ga4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"
)

// Transport performs one Measurement Protocol exchange for a Client: it
// POSTs body (application/json) to url, whose query carries the
// api_secret, and returns the answer. The Client classifies the answer and
// redacts what the errors say; a Transport should still never quote url.
type Transport interface {
	// Post gives up after timeout or when ctx ends. The Answer's Body holds
	// at most limit bytes. An error with a zero Answer.Status is a
	// transport failure; with a status it means the body could not be
	// read whole.
	Post(ctx context.Context, url string, body []byte, timeout time.Duration, limit int) (Answer, error)
}

// Answer is what a Transport read back.
type Answer struct {
	Status     int
	RetryAfter string // the Retry-After header, "" when absent
	Body       []byte
}

// netTransport is the net/http Transport.
type netTransport struct{ c *http.Client }

func (t netTransport) Post(ctx context.Context, url string, body []byte, timeout time.Duration, limit int) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Answer{}, &SendError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.c.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	a := Answer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	if resp.ContentLength == 0 {
		return a, nil // the usual answer: 204, nothing to read
	}
	a.Body, err = io.ReadAll(io.LimitReader(resp.Body, int64(limit)))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return a, err
}
