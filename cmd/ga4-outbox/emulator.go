package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

const emulatorUsage = `[--addr 127.0.0.1:9411] [--measurement-id G-.. --api-secret-env VAR] [fault flags]

Runs the Measurement Protocol emulator: POST /mp/collect answers 204 and
records every event, POST /debug/mp/collect answers validationMessages.
GET /emulator/events (?since=SEQ for newer ones), /emulator/requests,
/emulator/stats and
/emulator/faults show what it saw; PUT /emulator/faults changes the faults
(JSON, e.g. {"share_5xx":0.1,"latency":"50ms"}); POST /emulator/reset
forgets everything. With --measurement-id, a request for another id or with
another secret is recorded as dropped (answered 204, as Google does); the
secret is read from the environment variable named by --api-secret-env.`

func runEmulator(ctx context.Context, e *env) error {
	fs, _ := newFlags(e, "emulator", emulatorUsage)
	addr := fs.String("addr", "127.0.0.1:9411", "listen address")
	mid := fs.String("measurement-id", "", "accept only this measurement id (default: accept any)")
	secretEnv := fs.String("api-secret-env", "", "environment variable holding the accepted api_secret (needs --measurement-id)")
	seed := fs.Uint64("seed", 1, "seed of the fault generator")
	maxRecorded := fs.Int("max-recorded", 100000, "events and requests kept in memory (oldest dropped; counters keep counting); 0 keeps all")
	var f ga4test.Faults
	faultFlags(fs, &f)
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	opts := &ga4test.Options{Faults: f, Seed: *seed, MaxRecorded: *maxRecorded}
	if err := emulatorSecrets(e, opts, *mid, *secretEnv); err != nil {
		return err
	}
	srv, err := ga4test.NewServer(opts)
	if err != nil {
		return usageError{err}
	}
	return serveEmulator(ctx, e, *addr, srv)
}

func faultFlags(fs *flag.FlagSet, f *ga4test.Faults) {
	fs.Float64Var(&f.Share5xx, "share-5xx", 0, "share of requests answered 500 (0..1)")
	fs.Float64Var(&f.Share429, "share-429", 0, "share of requests answered 429 with Retry-After (0..1)")
	fs.DurationVar(&f.RetryAfter, "retry-after", time.Second, "Retry-After sent with 429")
	fs.Float64Var(&f.ShareDrop, "share-drop", 0, "share of connections closed after reading the request (0..1)")
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

func serveEmulator(ctx context.Context, e *env, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return exitError{code: 1, err: fmt.Errorf("emulator: %w", err)}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(e.stdout, "emulator listening on http://%s (POST /mp/collect, /debug/mp/collect; GET /emulator/events, /emulator/stats)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
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
