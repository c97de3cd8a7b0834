package ga4

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
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
	// Over HTTP/2, the default for https endpoints, each connection carries
	// up to the server's stream limit (100 at Google), and a new one is
	// opened only when the others are full. Over HTTP/1.1 it caps the
	// requests in flight. Defaults to 16.
	MaxConnsPerHost int
	// TLSConfig replaces the TLS settings of the default client (for
	// example RootCAs for an endpoint with a private certificate). Nil means
	// the system's roots, which honour SSL_CERT_FILE and SSL_CERT_DIR.
	TLSConfig *tls.Config
	// CleartextHTTP2 speaks HTTP/2 without TLS (h2c, prior knowledge) to an
	// http:// Endpoint such as the emulator; an endpoint that speaks only
	// HTTP/1.1 then fails every request. Defaults to false: http://
	// endpoints get HTTP/1.1, https:// ones HTTP/2 when the server offers
	// it.
	CleartextHTTP2 bool
	// HTTPClient replaces the tuned default client; its own Timeout still
	// applies on top of Timeout.
	HTTPClient *http.Client
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
	hc      *http.Client
	debug   bool
	proto   atomic.Value // string: the latest answer's protocol
}

// NewClient returns a client with a keep-alive transport tuned for many
// concurrent sends to one host: HTTP/2 over TLS (HTTP/1.1 when the server
// offers nothing else), the proxy from the environment, idle connections
// kept 90s so that a quiet shop's next conversion finds one open.
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
	if cfg.HTTPClient != nil && (cfg.TLSConfig != nil || cfg.CleartextHTTP2) {
		return nil, errors.New("ga4 client: TLSConfig and CleartextHTTP2 configure the default client; set them on HTTPClient instead")
	}
	c := &Client{base: base, timeout: cmp.Or(cfg.Timeout, 10*time.Second), hc: cfg.HTTPClient, debug: cfg.Debug}
	if c.hc == nil {
		c.hc = &http.Client{Transport: newTransport(cfg)}
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

// newTransport returns the default client's transport. HTTP/2 connections
// are pinged after 30s without a frame, so one that died silently (a NAT
// that dropped it) is closed within 45s instead of failing the next send.
func newTransport(cfg *ClientConfig) *http.Transport {
	maxConns := cmp.Or(cfg.MaxConnsPerHost, 16)
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxConns,
		MaxIdleConnsPerHost:   maxConns,
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		HTTP2:                 &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 15 * time.Second},
	}
	if cfg.TLSConfig != nil {
		t.TLSClientConfig = cfg.TLSConfig.Clone()
	}
	if cfg.CleartextHTTP2 {
		t.Protocols = new(http.Protocols)
		t.Protocols.SetUnencryptedHTTP2(true)
	}
	return t
}

// Timeout returns how long one request may take at most.
func (c *Client) Timeout() time.Duration { return c.timeout }

// Protocol returns the protocol of the latest answer ("HTTP/2.0",
// "HTTP/1.1"), "" before the first one.
func (c *Client) Protocol() string {
	p, _ := c.proto.Load().(string)
	return p
}

// CloseIdleConnections closes the connections no request is using.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

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
	a, err := c.exchange(ctx, u, body, limit)
	if a.Proto != "" {
		c.proto.Store(a.Proto)
	}
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
