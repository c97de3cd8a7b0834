package ga4

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Base URLs of Google's collection endpoints.
const (
	EndpointGlobal = "https://www.google-analytics.com"
	EndpointEU     = "https://region1.google-analytics.com"
)

// Paths appended to the base URL.
const (
	CollectPath      = "/mp/collect"
	DebugCollectPath = "/debug/mp/collect"
)

// ClientConfig configures NewClient. A nil config means all defaults.
type ClientConfig struct {
	// Endpoint overrides the base URL (e.g. the emulator's
	// http://127.0.0.1:9411); "" means the Region's endpoint.
	Endpoint string
	// Region is "global" (www.google-analytics.com, the default) or "eu"
	// (region1.google-analytics.com).
	Region string
	// Timeout bounds one request, including reading the answer. Defaults to
	// 10s.
	Timeout time.Duration
	// MaxConnsPerHost caps open connections (and keeps as many idle).
	// Defaults to 64.
	MaxConnsPerHost int
	// HTTPClient replaces the tuned default client; its own Timeout still
	// applies on top of Timeout.
	HTTPClient *http.Client
	// Transport replaces net/http for the exchange itself (the sidecar
	// plugs in a cheaper one, internal/fastpost); nil means net/http
	// through HTTPClient or the tuned default. HTTPClient and Transport are
	// exclusive.
	Transport Transport
	// Debug sends every Send and SendRaw to /debug/mp/collect instead (for
	// staging: nothing reaches reports). Validation messages then come back
	// as a permanent *SendError that wraps a *ValidationError.
	Debug bool
}

// Client posts Measurement Protocol requests and classifies the outcome.
// It is safe for concurrent use.
type Client struct {
	base    string
	timeout time.Duration
	tr      Transport
	debug   bool
}

// NewClient returns a client with a keep-alive transport tuned for many
// concurrent sends to one host.
func NewClient(cfg *ClientConfig) (*Client, error) {
	if cfg == nil {
		cfg = &ClientConfig{}
	}
	base, err := baseURL(cfg.Endpoint, cfg.Region)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 || cfg.MaxConnsPerHost < 0 {
		return nil, errors.New("ga4 client: Timeout and MaxConnsPerHost must not be negative")
	}
	if cfg.HTTPClient != nil && cfg.Transport != nil {
		return nil, errors.New("ga4 client: set HTTPClient or Transport, not both")
	}
	c := &Client{base: base, timeout: cmp.Or(cfg.Timeout, 10*time.Second), tr: cfg.Transport, debug: cfg.Debug}
	switch {
	case c.tr != nil:
	case cfg.HTTPClient != nil:
		c.tr = netTransport{cfg.HTTPClient}
	default:
		c.tr = netTransport{&http.Client{Transport: newTransport(cmp.Or(cfg.MaxConnsPerHost, 64))}}
	}
	return c, nil
}

func baseURL(endpoint, region string) (string, error) {
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return "", fmt.Errorf("ga4 client: Endpoint %q must be an http(s) base URL without query", endpoint)
		}
		return strings.TrimSuffix(endpoint, "/"), nil
	}
	switch region {
	case "", "global":
		return EndpointGlobal, nil
	case "eu":
		return EndpointEU, nil
	}
	return "", fmt.Errorf("ga4 client: Region %q must be global or eu", region)
}

func newTransport(maxConns int) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// BaseURL returns the base URL requests go to.
func (c *Client) BaseURL() string { return c.base }

// Send encodes r and posts it to /mp/collect. It returns nil on 2xx, else
// a *SendError.
func (c *Client) Send(ctx context.Context, measurementID, apiSecret string, r *Request) error {
	body, err := Encode(r)
	if err != nil {
		return &SendError{Err: err}
	}
	return c.SendRaw(ctx, measurementID, apiSecret, body)
}

// SendRaw posts an already-encoded body to /mp/collect. It returns nil on
// 2xx, else a *SendError.
func (c *Client) SendRaw(ctx context.Context, measurementID, apiSecret string, body []byte) error {
	if c.debug {
		msgs, err := c.ValidateRemote(ctx, measurementID, apiSecret, body)
		if err == nil && len(msgs) > 0 {
			err = &SendError{StatusCode: http.StatusOK, Err: &ValidationError{Messages: msgs}}
		}
		return err
	}
	_, err := c.post(ctx, CollectPath, measurementID, apiSecret, body, false)
	return err
}

// ValidateRemote posts body to /debug/mp/collect and returns Google's
// validation messages (empty when valid). Transport problems and non-2xx
// answers are a *SendError.
func (c *Client) ValidateRemote(ctx context.Context, measurementID, apiSecret string, body []byte) ([]Message, error) {
	resp, err := c.post(ctx, DebugCollectPath, measurementID, apiSecret, body, true)
	if err != nil {
		return nil, err
	}
	var out struct {
		ValidationMessages []Message `json:"validationMessages"`
	}
	if err := json.Unmarshal(resp, &out); err != nil {
		return nil, &SendError{StatusCode: http.StatusOK, Err: fmt.Errorf("decode validation answer: %w", err)}
	}
	return out.ValidationMessages, nil
}

// post sends body and returns the answer (nil unless keep is true).
func (c *Client) post(ctx context.Context, path, measurementID, apiSecret string, body []byte, keep bool) ([]byte, error) {
	u := c.base + path + "?measurement_id=" + url.QueryEscape(measurementID) + "&api_secret=" + url.QueryEscape(apiSecret)
	limit := 4 << 10 // enough of an error answer for its message
	if keep {
		limit = 4 << 20
	}
	a, err := c.tr.Post(ctx, u, body, c.timeout, limit)
	var se *SendError
	switch {
	case errors.As(err, &se):
		se.Err = redact(se.Err)
		return nil, se
	case a.Status == 0 && err == nil:
		return nil, &SendError{Retryable: true, Err: errors.New("transport returned no answer")}
	case a.Status == 0:
		return nil, &SendError{Retryable: true, Err: redact(err)}
	case a.Status/100 != 2:
		return nil, statusError(a.Status, a.RetryAfter, a.Body)
	case err != nil && keep:
		return nil, &SendError{Retryable: true, StatusCode: a.Status, Err: redact(err)}
	case !keep:
		return nil, nil
	}
	return a.Body, nil
}
