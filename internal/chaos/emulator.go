package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// chaosFaults are the emulator's faults: 20 % answered 500, 3 % 429 with
// Retry-After 1s, 1 % of connections closed after the request was read (the
// events count as received, the sidecar sees an error), 1-20 ms latency.
var chaosFaults = ga4test.Faults{Share5xx: 0.20, Share429: 0.03, RetryAfter: time.Second, ShareDrop: 0.01,
	Latency: time.Millisecond, Jitter: 19 * time.Millisecond}

// emulator is the in-process MP emulator on a loopback port.
type emulator struct {
	srv  *ga4test.Server
	http *http.Server
	url  string
}

func startEmulator(ctx context.Context, apiSecret string) (*emulator, error) {
	srv, err := ga4test.NewServer(&ga4test.Options{Secrets: map[string][]string{measurementID: {apiSecret}},
		Faults: chaosFaults, Seed: uint64(time.Now().UnixNano())})
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	e := &emulator{srv: srv, http: &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second},
		url: "http://" + ln.Addr().String()}
	go func() { _ = e.http.Serve(ln) }()
	return e, nil
}

func (e *emulator) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.http.Shutdown(ctx)
}
