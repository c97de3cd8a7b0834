package ga4_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

const (
	testMID    = "G-TEST123"
	testSecret = "s3cr3t-ApiSecret-value"
)

type clientBundle struct {
	emu    *ga4test.Server
	client *ga4.Client
	url    string
	tls    *tls.Config // trusts the emulator's certificate; nil over plain HTTP
}

// protocol is a way the client tests reach the emulator: plain HTTP/1.1
// (the emulator subcommand's default) or HTTP/2 over TLS (Google's).
type protocol struct {
	name  string
	proto string // what the answers say
	tls   bool
}

var protocols = []protocol{{"HTTP1", "HTTP/1.1", false}, {"HTTP2TLS", "HTTP/2.0", true}}

// serve runs emu for the test over pr.
func serve(t testing.TB, emu http.Handler, pr protocol) (url string, cfg *tls.Config) {
	t.Helper()
	srv := httptest.NewUnstartedServer(emu)
	t.Cleanup(srv.Close)
	if !pr.tls {
		srv.Start()
		return srv.URL, nil
	}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	return srv.URL, &tls.Config{RootCAs: roots}
}

func setupClient(t *testing.T, faults ga4test.Faults, pr protocol) *clientBundle {
	t.Helper()
	emu, err := ga4test.NewServer(&ga4test.Options{Secrets: map[string][]string{testMID: {testSecret}}, Faults: faults, Now: func() time.Time { return now }})
	require.NoError(t, err)
	url, cfg := serve(t, emu, pr)
	c, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: url, Timeout: 5 * time.Second, TLSConfig: cfg})
	require.NoError(t, err)
	return &clientBundle{emu: emu, client: c, url: url, tls: cfg}
}

func sendErr(t *testing.T, err error) *ga4.SendError {
	t.Helper()
	var se *ga4.SendError
	require.ErrorAs(t, err, &se)
	require.NotContains(t, err.Error(), testSecret)
	require.NotContains(t, se.Error(), testSecret)
	return se
}

func TestClientSend(t *testing.T) {
	t.Parallel()
	for _, pr := range protocols {
		t.Run(pr.name, func(t *testing.T) {
			t.Parallel()
			testClientSend(t, pr)
		})
	}
}

func testClientSend(t *testing.T, pr protocol) {
	ctx := context.Background()
	t.Run("Delivered", func(t *testing.T) {
		t.Parallel()
		b := setupClient(t, ga4test.Faults{}, pr)
		require.NoError(t, b.client.Send(ctx, testMID, testSecret, validRequest()))
		got := b.emu.Accepted()
		require.Len(t, got, 1)
		require.Equal(t, "ORD-1001", got[0].TransactionID)
		require.Equal(t, "1197596843.1673515099", got[0].ClientID)
		require.Empty(t, got[0].Problems)
		require.Equal(t, pr.proto, b.client.Protocol())
	})

	t.Run("WrongSecretIsStill2xxButDropped", func(t *testing.T) {
		t.Parallel()
		b := setupClient(t, ga4test.Faults{}, pr)
		require.NoError(t, b.client.Send(ctx, testMID, "wrong", validRequest()))
		st := b.emu.Stats()
		require.Equal(t, 0, st.Accepted)
		require.Equal(t, 1, st.Dropped)
		require.Equal(t, "wrong api_secret", b.emu.Events()[0].DropReason)
	})

	t.Run("ServerErrorRetryableWithoutSecret", func(t *testing.T) {
		t.Parallel()
		b := setupClient(t, ga4test.Faults{Next5xx: 1}, pr)
		se := sendErr(t, b.client.Send(ctx, testMID, testSecret, validRequest()))
		require.True(t, se.Retryable)
		require.Equal(t, 500, se.StatusCode)
		require.Zero(t, b.emu.Stats().Accepted)
	})

	t.Run("TooManyRequestsHonoursRetryAfter", func(t *testing.T) {
		t.Parallel()
		b := setupClient(t, ga4test.Faults{Next429: 1, RetryAfter: 7 * time.Second}, pr)
		se := sendErr(t, b.client.Send(ctx, testMID, testSecret, validRequest()))
		require.True(t, se.Retryable)
		require.Equal(t, 429, se.StatusCode)
		require.Equal(t, 7*time.Second, se.RetryAfter)
		require.True(t, ga4.IsRetryable(se))
	})

	t.Run("DroppedConnectionRetryableButReceived", func(t *testing.T) {
		t.Parallel()
		b := setupClient(t, ga4test.Faults{NextDrop: 1}, pr)
		se := sendErr(t, b.client.Send(ctx, testMID, testSecret, validRequest()))
		require.True(t, se.Retryable)
		require.Zero(t, se.StatusCode)
		require.Equal(t, 1, b.emu.Stats().Accepted, "the request counts as received")
		require.NoError(t, b.client.Send(ctx, testMID, testSecret, validRequest()))
		require.Equal(t, 1, b.emu.Stats().Duplicates, "the retry is a duplicate transaction_id")
	})

	t.Run("TimeoutRetryable", func(t *testing.T) {
		t.Parallel()
		b := setupClient(t, ga4test.Faults{Latency: time.Minute}, pr)
		c, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: b.url, Timeout: 50 * time.Millisecond, TLSConfig: b.tls})
		require.NoError(t, err)
		se := sendErr(t, c.Send(ctx, testMID, testSecret, validRequest()))
		require.True(t, se.Retryable)
		require.ErrorIs(t, se, context.DeadlineExceeded)
	})

	echo := func(t *testing.T, status int) *ga4.SendError {
		url, cfg := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "cannot handle "+r.URL.String(), status) // echoes the secret back
		}), pr)
		c, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: url, TLSConfig: cfg})
		require.NoError(t, err)
		se := sendErr(t, c.Send(ctx, testMID, testSecret, validRequest()))
		require.Equal(t, status, se.StatusCode)
		require.Contains(t, se.Error(), "api_secret=REDACTED")
		return se
	}

	t.Run("PermanentClientError", func(t *testing.T) {
		t.Parallel()
		require.False(t, echo(t, http.StatusBadRequest).Retryable)
	})

	t.Run("EchoingServerErrorHasNoSecret", func(t *testing.T) {
		t.Parallel()
		require.True(t, echo(t, http.StatusBadGateway).Retryable)
	})

	t.Run("NetworkErrorHasNoSecret", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close()) // nothing listens there now
		c, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: "http://" + addr})
		require.NoError(t, err)
		se := sendErr(t, c.Send(ctx, testMID, testSecret, validRequest()))
		require.True(t, se.Retryable)
		require.Zero(t, se.StatusCode)
		require.Contains(t, se.Error(), "connection refused")
		var opErr *net.OpError
		require.True(t, errors.As(se, &opErr), "the cause stays inspectable")
	})

	t.Run("CallerCancelled", func(t *testing.T) {
		t.Parallel()
		b := setupClient(t, ga4test.Faults{}, pr)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		se := sendErr(t, b.client.Send(cctx, testMID, testSecret, validRequest()))
		require.ErrorIs(t, se, context.Canceled)
	})
}

func TestClientValidateRemote(t *testing.T) {
	t.Parallel()
	for _, pr := range protocols {
		t.Run(pr.name, func(t *testing.T) {
			t.Parallel()
			b := setupClient(t, ga4test.Faults{}, pr)
			r := validRequest()
			r.Events[0].Name = "_badEventName"
			body, err := ga4.Encode(r)
			require.NoError(t, err)
			msgs, err := b.client.ValidateRemote(context.Background(), testMID, testSecret, body)
			require.NoError(t, err)
			require.Equal(t, []string{"NAME_INVALID events"}, codesAndPaths(msgs))
			require.Zero(t, b.emu.Stats().Accepted, "the debug endpoint records nothing")
		})
	}
}

func TestNewClient(t *testing.T) {
	t.Parallel()
	c, err := ga4.NewClient(nil)
	require.NoError(t, err)
	require.Equal(t, ga4.EndpointGlobal, c.BaseURL())
	c, err = ga4.NewClient(&ga4.ClientConfig{Region: "eu"})
	require.NoError(t, err)
	require.Equal(t, ga4.EndpointEU, c.BaseURL())
	_, err = ga4.NewClient(&ga4.ClientConfig{Region: "us"})
	require.ErrorContains(t, err, `Region "us" must be global or eu`)
	_, err = ga4.NewClient(&ga4.ClientConfig{Endpoint: "ftp://x"})
	require.ErrorContains(t, err, "Endpoint")
	_, err = ga4.NewClient(&ga4.ClientConfig{HTTPClient: http.DefaultClient, CleartextHTTP2: true})
	require.ErrorContains(t, err, "set them on HTTPClient instead")
}

func TestClientDebugMode(t *testing.T) {
	t.Parallel()
	b := setupClient(t, ga4test.Faults{}, protocols[0])
	c, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: b.url, Debug: true})
	require.NoError(t, err)
	require.NoError(t, c.Send(context.Background(), testMID, testSecret, validRequest()))
	r := validRequest()
	r.Events[0].Params["value"] = "30.03"
	err = c.Send(context.Background(), testMID, testSecret, r)
	se := sendErr(t, err)
	require.False(t, se.Retryable)
	var ve *ga4.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, []string{"VALUE_INVALID events[0].params.value"}, codesAndPaths(ve.Messages))
	st := b.emu.Stats()
	require.Equal(t, 2, st.DebugRequests)
	require.Zero(t, st.Accepted, "debug mode never reaches /mp/collect")
}
