package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

const emulatorUsage = `[--addr 127.0.0.1:9411] [--tls [--cert-out FILE]] [--measurement-id G-.. --api-secret-env VAR] [fault flags] [--property ID=G-.. --sessions FILE --currency USD]

Runs the Measurement Protocol emulator: POST /mp/collect answers 204 and
records every event, POST /debug/mp/collect answers validationMessages.
GET /emulator/events (?since=SEQ for newer ones), /emulator/requests,
/emulator/stats (with the TCP connections accepted, the most open at once,
and the requests by protocol) and /emulator/faults show what it saw; PUT
/emulator/faults changes the faults (JSON, e.g.
{"share_5xx":0.1,"latency":"50ms"}); POST /emulator/reset forgets
everything. With --measurement-id, a request for another id or with
another secret is recorded as dropped (answered 204, as Google does); the
secret is read from the environment variable named by --api-secret-env.

Plaintext, it speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c). With
--tls it serves https with a self-signed certificate generated at start
(ECDSA P-256 for 127.0.0.1, ::1 and localhost, valid for a day) and offers
HTTP/2 by ALPN, at most --max-streams streams per connection, with HTTP/1.1
as the fallback; --cert-out writes the certificate's PEM so that a client
trusts it through SSL_CERT_FILE=FILE.

Faults: --share-5xx answers 500; --share-429 answers 429 with Retry-After;
--share-drop reads the request, records its events and answers nothing
(HTTP/1.1: closes the connection; HTTP/2: resets the stream);
--share-goaway answers 204 and then ends the connection gracefully (HTTP/2
GOAWAY, HTTP/1.1 Connection: close); --latency and --jitter delay every
answer; --http1-only is an endpoint that speaks HTTP/1.1 only (no h2 by
ALPN, no h2c).

GA4 Data API: POST /v1beta/properties/{id}:runReport reports the purchases
received (transactionId, sessionDefaultChannelGroup, sessionSourceMedium,
sessionCampaignName, date; purchaseRevenue, ecommercePurchases), and
:checkCompatibility answers; point the outcome import at the emulator's
URL. A purchase sent within 24 h of its session start is credited to the
channel seeded for that session (--sessions, PUT /emulator/sessions),
Direct when unseeded or late, Unassigned without a session id.
--report-lose-share, --report-other-share and --report-thresholding are
the Data API's faults; PUT /emulator/faults {"report_next_429":1} answers
the next request 429 RESOURCE_EXHAUSTED.`

func runEmulator(ctx context.Context, e *env) error {
	fs, _ := newFlags(e, "emulator", emulatorUsage)
	addr := fs.String("addr", "127.0.0.1:9411", "listen address")
	mid := fs.String("measurement-id", "", "accept only this measurement id (default: accept any)")
	secretEnv := fs.String("api-secret-env", "", "environment variable holding the accepted api_secret (needs --measurement-id)")
	opts := &ga4test.Options{}
	fs.Uint64Var(&opts.Seed, "seed", 1, "seed of the fault generator")
	fs.IntVar(&opts.MaxRecorded, "max-recorded", 100000, "events and requests kept in memory (oldest dropped; counters keep counting); 0 keeps all")
	t := transportFlags(fs, opts)
	faultFlags(fs, &opts.Faults)
	data := dataAPIFlags(fs, opts)
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if err := t.validate(opts); err != nil {
		return err
	}
	if err := emulatorSecrets(e, opts, *mid, *secretEnv); err != nil {
		return err
	}
	srv, err := ga4test.NewServer(opts)
	if err != nil {
		return usageError{err}
	}
	if err := data.seed(srv); err != nil {
		return err
	}
	hs, err := t.httpServer(srv)
	if err != nil {
		return err
	}
	return serveEmulator(ctx, e, *addr, hs)
}

// emulatorTLS is the emulator's --tls and --cert-out.
type emulatorTLS struct {
	on      bool
	certOut string
}

// transportFlags adds --tls, --cert-out, --http1-only and --max-streams.
func transportFlags(fs *flag.FlagSet, opts *ga4test.Options) *emulatorTLS {
	t := &emulatorTLS{}
	fs.BoolVar(&t.on, "tls", false, "serve https with a self-signed certificate generated at start (HTTP/2 by ALPN)")
	fs.StringVar(&t.certOut, "cert-out", "", "with --tls, write the certificate PEM to this file (for a client's SSL_CERT_FILE)")
	fs.BoolVar(&opts.HTTP1Only, "http1-only", false, "speak HTTP/1.1 only: no h2 by ALPN, no h2c (an endpoint that speaks HTTP/1.1 only)")
	fs.IntVar(&opts.MaxConcurrentStreams, "max-streams", ga4test.DefaultMaxConcurrentStreams, "HTTP/2 streams a client may have open per connection")
	return t
}

func (t emulatorTLS) validate(opts *ga4test.Options) error {
	if t.certOut != "" && !t.on {
		return usageError{errors.New("--cert-out needs --tls")}
	}
	if opts.MaxConcurrentStreams < 1 {
		return usageError{errors.New("--max-streams must be at least 1")}
	}
	return nil
}

// httpServer returns srv's http.Server: plaintext, or with --tls a fresh
// certificate, written to --cert-out when set.
func (t emulatorTLS) httpServer(srv *ga4test.Server) (*http.Server, error) {
	if !t.on {
		return srv.HTTPServer(nil), nil
	}
	cert, err := ga4test.NewCertificate(time.Now(), 0)
	if err != nil {
		return nil, exitError{code: 1, err: fmt.Errorf("emulator: %w", err)}
	}
	if t.certOut != "" {
		if err := os.WriteFile(t.certOut, ga4test.CertificatePEM(cert.Leaf), 0o644); err != nil {
			return nil, exitError{code: 1, err: fmt.Errorf("emulator: write certificate: %w", err)}
		}
	}
	return srv.HTTPServer(&cert), nil
}

func faultFlags(fs *flag.FlagSet, f *ga4test.Faults) {
	fs.Float64Var(&f.Share5xx, "share-5xx", 0, "share of requests answered 500 (0..1)")
	fs.Float64Var(&f.Share429, "share-429", 0, "share of requests answered 429 with Retry-After (0..1)")
	fs.DurationVar(&f.RetryAfter, "retry-after", time.Second, "Retry-After sent with 429")
	fs.Float64Var(&f.ShareDrop, "share-drop", 0, "share of requests read and left unanswered: connection closed (HTTP/1.1), stream reset (HTTP/2) (0..1)")
	fs.Float64Var(&f.ShareGoAway, "share-goaway", 0, "share of requests answered 204, then their connection ended: GOAWAY (HTTP/2), Connection: close (HTTP/1.1) (0..1)")
	fs.DurationVar(&f.Latency, "latency", 0, "latency added to every request")
	fs.DurationVar(&f.Jitter, "jitter", 0, "random extra latency, up to this much")
}

func emulatorSecrets(e *env, opts *ga4test.Options, mid, secretEnv string) error {
	switch {
	case mid == "" && secretEnv == "":
		return nil
	case mid == "" || secretEnv == "":
		return usageError{errors.New("--measurement-id and --api-secret-env go together")}
	}
	secret := e.getenv(secretEnv)
	if secret == "" {
		return usageError{fmt.Errorf("--api-secret-env: environment variable %s is empty or unset", secretEnv)}
	}
	opts.Secrets = map[string][]string{mid: {secret}}
	return nil
}

// serveEmulator serves srv on addr (over TLS when srv has a TLSConfig)
// until ctx ends.
func serveEmulator(ctx context.Context, e *env, addr string, srv *http.Server) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return exitError{code: 1, err: fmt.Errorf("emulator: %w", err)}
	}
	scheme, serve := "http", func() error { return srv.Serve(ln) }
	if srv.TLSConfig != nil {
		scheme, serve = "https", func() error { return srv.ServeTLS(ln, "", "") }
	}
	fmt.Fprintf(e.stdout, "emulator listening on %s://%s (POST /mp/collect, /debug/mp/collect, /v1beta/properties/{id}:runReport; GET /emulator/events, /emulator/stats)\n", scheme, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return fmt.Errorf("emulator: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("emulator: shut down: %w", err)
	}
	fmt.Fprintln(e.stdout, "emulator stopped")
	return nil
}
