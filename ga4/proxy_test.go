package ga4_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// connectProxy is an HTTP CONNECT proxy that tunnels every request to
// target, whatever host it names, and records the hosts asked for.
type connectProxy struct {
	target string
	mu     sync.Mutex
	hosts  []string
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.hosts = append(p.hosts, r.Host)
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		up.Close()
		conn.Close()
		return
	}
	go func() { _, _ = io.Copy(up, conn); up.Close() }()
	_, _ = io.Copy(conn, up)
	conn.Close()
}

// The default client honours HTTPS_PROXY (read once per process, so the
// send runs in a child process with the proxy in its environment) and
// still speaks HTTP/2 through the tunnel.
func TestClientHonoursProxyFromEnvironment(t *testing.T) {
	if os.Getenv("GA4O_PROXY_CHILD") == "1" {
		proxyChild(t)
		return
	}
	t.Parallel()
	emu, err := ga4test.NewServer(nil)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(emu)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	proxy := &connectProxy{target: srv.Listener.Addr().String()}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	endpoint := "https://example.com:" + port // the test certificate's name; only the proxy can reach it
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})

	cmd := exec.Command(os.Args[0], "-test.run=^TestClientHonoursProxyFromEnvironment$", "-test.v")
	cmd.Env = append(os.Environ(), "GA4O_PROXY_CHILD=1", "HTTPS_PROXY="+ps.URL, "NO_PROXY=",
		"GA4O_PROXY_ENDPOINT="+endpoint, "GA4O_PROXY_CERT="+string(cert))
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "protocol HTTP/2.0")
	require.Equal(t, []string{"example.com:" + port}, proxy.hosts)
	require.Len(t, emu.Accepted(), 1)
}

func proxyChild(t *testing.T) {
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM([]byte(os.Getenv("GA4O_PROXY_CERT"))))
	c, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: os.Getenv("GA4O_PROXY_ENDPOINT"), Timeout: 10 * time.Second,
		TLSConfig: &tls.Config{RootCAs: roots}})
	require.NoError(t, err)
	require.NoError(t, c.Send(context.Background(), testMID, testSecret, validRequest()))
	t.Log("protocol " + c.Protocol())
	require.True(t, strings.HasPrefix(c.Protocol(), "HTTP/2"))
}
