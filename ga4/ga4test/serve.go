package ga4test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"time"
)

// DefaultMaxConcurrentStreams is the HTTP/2 streams a client may have open
// on one connection unless Options.MaxConcurrentStreams says otherwise:
// what Google's Measurement Protocol endpoint allows.
const DefaultMaxConcurrentStreams = 100

// HTTPServer returns an http.Server that serves s and counts its
// connections in TransportStats. With a nil cert it speaks plaintext
// HTTP/1.1 and HTTP/2 with prior knowledge (h2c); call Serve. With a
// cert, its TLSConfig offers h2 and http/1.1 by ALPN; call ServeTLS(ln,
// "", ""), or Serve on a listener wrapped in tls.NewListener with
// TLSConfig. Options.HTTP1Only leaves HTTP/2 out of both;
// Options.MaxConcurrentStreams caps the streams per HTTP/2 connection.
// Call it once per Server, before serving.
func (s *Server) HTTPServer(cert *tls.Certificate) *http.Server {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState:         s.connState,
		ConnContext:       s.connContext,
		Protocols:         new(http.Protocols),
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: s.maxStreams},
	}
	hs.Protocols.SetHTTP1(true)
	if cert == nil {
		hs.Protocols.SetUnencryptedHTTP2(!s.http1Only)
		return hs
	}
	hs.Protocols.SetHTTP2(!s.http1Only)
	hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{"h2", "http/1.1"}}
	if s.http1Only {
		hs.TLSConfig.NextProtos = []string{"http/1.1"}
	}
	s.mu.Lock()
	s.cert = leaf(cert)
	s.mu.Unlock()
	return hs
}

// leaf returns cert's parsed leaf certificate.
func leaf(cert *tls.Certificate) *x509.Certificate {
	if cert.Leaf != nil {
		return cert.Leaf
	}
	l, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil
	}
	return l
}

// TB is the part of testing.TB that Start needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Start runs a new emulator on an httptest server for the test's duration
// and sets its URL (the base URL to give ga4.ClientConfig.Endpoint). It
// speaks plaintext HTTP/1.1 and, to a client with prior knowledge, HTTP/2
// (h2c), unless Options.HTTP1Only.
func Start(tb TB, opts *Options) *Server {
	tb.Helper()
	s, ts := newTestServer(tb, opts, nil)
	ts.Start()
	s.URL = ts.URL
	return s
}

// StartTLS is Start over TLS: the URL is https://127.0.0.1:port, the
// certificate a fresh self-signed one (NewCertificate) that CertPool
// trusts, and the server offers HTTP/2 by ALPN with HTTP/1.1 as the
// fallback (HTTP/1.1 only with Options.HTTP1Only), at most
// Options.MaxConcurrentStreams streams per connection.
func StartTLS(tb TB, opts *Options) *Server {
	tb.Helper()
	cert, err := NewCertificate(time.Now(), 0)
	if err != nil {
		tb.Fatalf("ga4test: %v", err)
	}
	s, ts := newTestServer(tb, opts, &cert)
	ts.TLS = ts.Config.TLSConfig
	ts.EnableHTTP2 = !s.http1Only
	ts.StartTLS()
	s.URL = ts.URL
	return s
}

// newTestServer returns a Server and an unstarted httptest server serving
// it with HTTPServer(cert), closed at the test's end.
func newTestServer(tb TB, opts *Options, cert *tls.Certificate) (*Server, *httptest.Server) {
	tb.Helper()
	s, err := NewServer(opts)
	if err != nil {
		tb.Fatalf("ga4test: %v", err)
	}
	ts := httptest.NewUnstartedServer(s)
	ts.Config = s.HTTPServer(cert)
	tb.Cleanup(ts.Close)
	return s, ts
}

// Certificate returns the certificate the server presents, nil when it
// does not serve TLS.
func (s *Server) Certificate() *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cert
}

// CertPool returns a pool holding Certificate, for a client's
// tls.Config.RootCAs; nil when the server does not serve TLS.
func (s *Server) CertPool() *x509.CertPool {
	cert := s.Certificate()
	if cert == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}
