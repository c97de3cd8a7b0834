package fastpost

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

const secret = "s3cr3t-ApiSecret-value"

// counting answers 204 to every request and counts the requests and the
// connections.
func counting(t *testing.T, tls bool) (srv *httptest.Server, requests, conns *atomic.Int64) {
	t.Helper()
	var n, c atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(http.StatusNoContent)
	})
	srv = httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.Add(1)
		}
	}
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, &n, &c
}

func post(t *testing.T, tr *Transport, base string) (ga4.Answer, error) {
	t.Helper()
	return tr.Post(context.Background(), base+"/mp/collect?measurement_id=G-X&api_secret="+secret, []byte(`{}`), 5*time.Second, 4<<10)
}

func TestPostReusesConnections(t *testing.T) {
	t.Parallel()
	srv, n, conns := counting(t, false)
	tr := New(4)
	for range 20 {
		a, err := post(t, tr, srv.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, a.Status)
	}
	require.EqualValues(t, 20, n.Load())
	require.EqualValues(t, 1, conns.Load(), "one sender in turn keeps one connection")
}

func TestPostOverTLS(t *testing.T) {
	t.Parallel()
	srv, n, _ := counting(t, true)
	tr := New(4)
	tr.TLSConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	a, err := post(t, tr, srv.URL)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, a.Status)
	require.EqualValues(t, 1, n.Load())

	_, err = post(t, New(4), srv.URL) // the system roots do not know the test CA
	require.ErrorContains(t, err, "certificate")
	require.NotContains(t, err.Error(), secret)
}

// TestPostResendsOnStaleConnection: a pooled connection the server closed
// while idle fails before any answer; the request goes out once more on a
// new connection and is received once.
func TestPostResendsOnStaleConnection(t *testing.T) {
	t.Parallel()
	srv, n, conns := counting(t, false)
	tr := New(4)
	_, err := post(t, tr, srv.URL)
	require.NoError(t, err)
	srv.CloseClientConnections()
	a, err := post(t, tr, srv.URL)
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, a.Status)
	require.EqualValues(t, 2, n.Load())
	require.EqualValues(t, 2, conns.Load())
}

// TestPostDroppedConnection: a server that reads the request and hangs up.
// On a new connection that is an error (the request may have arrived); on
// a reused one it looks like a stale connection and is sent once more,
// a duplicate that the transaction_id makes harmless.
func TestPostDroppedConnection(t *testing.T) {
	t.Parallel()
	emu := ga4test.Start(t, &ga4test.Options{Faults: ga4test.Faults{NextDrop: 1}})
	tr := New(4)
	_, err := post(t, tr, emu.URL)
	require.ErrorContains(t, err, "closed the connection before answering")
	require.NoError(t, emu.SetFaults(ga4test.Faults{NextDrop: 1}))
	_, err = post(t, tr, emu.URL) // a fresh connection again: the drop closed the last one
	require.Error(t, err)
	_, err = post(t, tr, emu.URL)
	require.NoError(t, err)
	require.NoError(t, emu.SetFaults(ga4test.Faults{NextDrop: 1}))
	a, err := post(t, tr, emu.URL) // on the reused connection: resent
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, a.Status)
	st := emu.Stats()
	require.Equal(t, 5, st.Requests)
	require.Equal(t, 3, st.FaultsDrop)
}

// TestPostCancelInFlight: cancelling ctx ends a request that waits for
// its answer at once, whatever the timeout.
func TestPostCancelInFlight(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server watches for the client hanging up
		close(arrived)
		<-r.Context().Done() // never answers
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := New(4).Post(ctx, srv.URL+"/mp/collect?api_secret="+secret, []byte(`{}`), time.Hour, 4<<10)
	require.ErrorIs(t, err, context.Canceled)
}

func TestPostAnswers(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(make([]byte, 10<<10)) // longer than the limit
	}))
	t.Cleanup(srv.Close)
	a, err := post(t, New(4), srv.URL)
	require.ErrorContains(t, err, "body size exceeds the given limit")
	require.Equal(t, http.StatusServiceUnavailable, a.Status)
	require.Equal(t, "7", a.RetryAfter)
}

func TestPostRefusesOtherSchemes(t *testing.T) {
	t.Parallel()
	_, err := New(4).Post(context.Background(), "ftp://example.com/mp/collect", nil, time.Second, 1)
	require.ErrorContains(t, err, `scheme "ftp"`)
}

func TestProxied(t *testing.T) {
	t.Parallel()
	none := func(*http.Request) (*url.URL, error) { return nil, nil }
	proxy := func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy:3128") }
	broken := func(*http.Request) (*url.URL, error) { return nil, errors.New("bad proxy setting") }
	require.False(t, proxied(ga4.EndpointGlobal, none))
	require.True(t, proxied(ga4.EndpointGlobal, proxy))
	require.True(t, proxied(ga4.EndpointGlobal, broken), "net/http reports its own setting errors")
	require.False(t, Proxied("http://127.0.0.1:9411"), "net/http never proxies loopback")
}

// TestPostHandshakeWithinTimeout: a server that accepts the connection but
// never answers the TLS handshake costs the request's timeout, no more.
func TestPostHandshakeWithinTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	held := make(chan net.Conn, 8) // accepted, held open, silent
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		for c := range held {
			_ = c.Close()
		}
	})
	_, err = New(4).Post(context.Background(), "https://"+ln.Addr().String()+"/mp/collect?api_secret="+secret,
		[]byte(`{}`), 100*time.Millisecond, 4<<10)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotContains(t, err.Error(), secret)
}
