// Package fastpost is the sidecar's Measurement Protocol transport: a
// ga4.Transport on fasthttp's connection pool and HTTP/1.1 codec.
//
// net/http spends a reader and a writer goroutine, a header map and a
// context timer on every request; at one event per request that was half
// of the drain's own CPU. fasthttp writes and reads on the caller's
// goroutine and reuses its buffers: the drain delivers 20 - 40 % more
// events per second on the same machine (docs/PERFORMANCE.md). Package ga4
// stays on the standard library for the applications that import it.
//
// What it keeps from net/http: keep-alive connections (at most MaxConns per
// host, idle ones closed after 10s), TLS with the system roots, dials and
// handshakes within the request's timeout (a dial within 5s at most), ctx
// cancellation that ends a request in flight at once,
// and one transparent resend when a reused connection turns out closed
// before any answer arrived (the server had dropped the idle connection).
// It does not speak HTTP/2 and does not read proxy settings: the sidecar
// (internal/delivery) keeps net/http when HTTPS_PROXY or HTTP_PROXY applies
// to the endpoint (see Proxied). Waiting for a free connection, when all
// MaxConns are busy, ends with the request's timeout, not with ctx.
package fastpost

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// Transport is a ga4.Transport. It is safe for concurrent use.
type Transport struct {
	// TLSConfig is for https hosts; nil means crypto/tls's defaults (the
	// system roots). Set it before the first Post.
	TLSConfig *tls.Config

	maxConns int
	last     atomic.Pointer[pool] // the pool of the last host posted to
	mu       sync.Mutex
	hosts    map[string]*pool // by scheme://host
}

var _ ga4.Transport = (*Transport)(nil)

// New returns a Transport with at most maxConns connections per host
// (64 when maxConns <= 0).
func New(maxConns int) *Transport {
	if maxConns <= 0 {
		maxConns = 64
	}
	return &Transport{maxConns: maxConns}
}

// userAgent names the sender in every request (net/http's default is
// "Go-http-client/1.1").
const userAgent = "ga4-outbox"

// aLongTimeAgo is a deadline that makes blocked reads and writes return.
var aLongTimeAgo = time.Unix(1, 0)

// Post implements ga4.Transport.
func (t *Transport) Post(ctx context.Context, url string, body []byte, timeout time.Duration, limit int) (ga4.Answer, error) {
	if err := ctx.Err(); err != nil {
		return ga4.Answer{}, err
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.SetUserAgent(userAgent)
	req.SetBodyRaw(body)
	hc, err := t.host(req.URI())
	if err != nil {
		return ga4.Answer{}, err
	}
	status, resend, err := exchange(ctx, hc, req, resp, deadline, limit)
	if resend {
		status, _, err = exchange(ctx, hc, req, resp, deadline, limit)
	}
	if status == 0 {
		return ga4.Answer{}, explain(ctx, err, timeout)
	}
	a := ga4.Answer{Status: status, RetryAfter: string(resp.Header.Peek("Retry-After"))}
	if len(resp.Body()) > 0 {
		a.Body = bytes.Clone(resp.Body())
	}
	return a, err
}

// exchange writes req on a pooled connection and reads resp. status is 0
// when no answer head arrived, else the answer's (err then says the body
// was longer than limit). resend is true when a reused connection failed
// before any answer: the server had closed it while idle, so the request
// is worth one more try on another connection.
func exchange(ctx context.Context, hc *fasthttp.HostClient, req *fasthttp.Request, resp *fasthttp.Response,
	deadline time.Time, limit int) (status int, resend bool, err error) {
	cc, err := hc.AcquireConn(time.Until(deadline), false)
	if err != nil {
		return 0, false, err
	}
	conn := cc.Conn()
	reused := !cc.LastUseTime().IsZero()
	if err := conn.SetDeadline(deadline); err != nil {
		hc.CloseConn(cc)
		return 0, false, err
	}
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { _ = conn.SetDeadline(aLongTimeAgo) })
	}
	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	unsent := err != nil
	if err == nil {
		br := hc.AcquireReader(conn)
		err = resp.ReadLimitBody(br, limit)
		hc.ReleaseReader(br)
	}
	cancelled := !stop()
	if err != nil || cancelled || resp.ConnectionClose() {
		hc.CloseConn(cc)
	} else {
		hc.ReleaseConn(cc)
	}
	switch {
	case err == nil || errors.Is(err, fasthttp.ErrBodyTooLarge):
		return resp.StatusCode(), false, err
	case cancelled:
		return 0, false, ctx.Err()
	}
	return 0, reused && (unsent || errors.Is(err, io.EOF)) && time.Now().Before(deadline), err
}

// explain names a transport failure: a timeout wraps
// context.DeadlineExceeded as net/http's does.
func explain(ctx context.Context, err error, timeout time.Duration) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	if isTimeout(err) {
		return fmt.Errorf("no answer within %v: %w", timeout, context.DeadlineExceeded)
	}
	if errors.Is(err, io.EOF) {
		return errors.New("the server closed the connection before answering")
	}
	return err
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// host returns the connection pool of uri's scheme and host.
func (t *Transport) host(uri *fasthttp.URI) (*fasthttp.HostClient, error) {
	if p := t.last.Load(); p != nil && p.scheme == string(uri.Scheme()) && p.host == string(uri.Host()) {
		return p.hc, nil // the usual case: one endpoint; compared without allocating
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	key := string(uri.Scheme()) + "://" + string(uri.Host())
	p := t.hosts[key]
	if p == nil {
		hc, err := t.newHost(uri)
		if err != nil {
			return nil, err
		}
		p = &pool{scheme: string(uri.Scheme()), host: string(uri.Host()), hc: hc}
		if t.hosts == nil {
			t.hosts = map[string]*pool{}
		}
		t.hosts[key] = p
	}
	t.last.Store(p)
	return p.hc, nil
}

// pool is the connection pool of one scheme and host.
type pool struct {
	scheme, host string
	hc           *fasthttp.HostClient
}

// newHost returns a connection pool for uri's host.
func (t *Transport) newHost(uri *fasthttp.URI) (*fasthttp.HostClient, error) {
	scheme := string(uri.Scheme())
	if scheme != "http" && scheme != "https" {
		return nil, fmt.Errorf("fastpost: scheme %q is not http or https", scheme)
	}
	isTLS := scheme == "https"
	return &fasthttp.HostClient{
		Addr:      fasthttp.AddMissingPort(string(uri.Host()), isTLS),
		IsTLS:     isTLS,
		TLSConfig: t.TLSConfig,
		// A dial takes at most 5 s and never longer than what is left of
		// the request's timeout (fasthttp passes that in).
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			d := net.Dialer{Timeout: max(min(timeout, 5*time.Second), time.Nanosecond), KeepAlive: 30 * time.Second}
			return d.Dial("tcp", addr)
		},
		MaxConns:            t.maxConns,
		MaxConnWaitTimeout:  time.Hour, // bounded by each request's timeout
		MaxIdleConnDuration: 10 * time.Second,
		// No WriteTimeout: fasthttp then leaves the TLS handshake to the
		// first write, under the request's deadline and its ctx.
	}, nil
}

// Proxied reports whether the environment's proxy settings (HTTPS_PROXY,
// HTTP_PROXY, NO_PROXY, read once per process by net/http) send requests
// to baseURL through a proxy, which fastpost does not support.
func Proxied(baseURL string) bool {
	return proxied(baseURL, http.ProxyFromEnvironment)
}

func proxied(baseURL string, proxy func(*http.Request) (*url.URL, error)) bool {
	u, err := url.Parse(baseURL)
	if err != nil {
		return true // let net/http report it
	}
	p, err := proxy(&http.Request{URL: u})
	return err != nil || p != nil
}
