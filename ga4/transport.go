package ga4

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// answer is what one Measurement Protocol exchange read back.
type answer struct {
	Status     int
	RetryAfter string // the Retry-After header, "" when absent
	Proto      string // "HTTP/2.0", "HTTP/1.1"
	Body       []byte
}

// exchange POSTs body (application/json) to url, whose query carries the
// api_secret, within the client's timeout, and reads at most limit bytes of
// the answer. An error with a zero status is a transport failure; with a
// status it means the body could not be read whole. The caller redacts
// what the error says.
func (c *Client) exchange(ctx context.Context, url string, body []byte, limit int) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, &SendError{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ga4-outbox")
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), Proto: resp.Proto}
	if resp.ContentLength == 0 {
		return a, nil // the usual answer: 204, nothing to read
	}
	a.Body, err = io.ReadAll(io.LimitReader(resp.Body, int64(limit)))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	return a, err
}
