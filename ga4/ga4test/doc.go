// Package ga4test is a Measurement Protocol emulator for tests, the demo and
// the emulator subcommand. It serves /mp/collect and /debug/mp/collect,
// records what it receives and injects faults on demand (5xx, 429 with
// Retry-After, latency, requests dropped after they were read, GOAWAY).
//
// # In tests
//
//	emu := ga4test.Start(t, &ga4test.Options{Secrets: map[string][]string{"G-TEST1": {"secret"}}})
//	client, _ := ga4.NewClient(&ga4.ClientConfig{Endpoint: emu.URL})
//	// ... run the code under test ...
//	events, err := emu.WaitAccepted(ctx, 3) // waits on a signal, never sleeps
//
// /mp/collect answers 204 like Google and records every event with its
// receive time (Options.Now), the request's client_id, consent and the
// validation messages Google's validator would give. A wrong api_secret or an
// unknown measurement id is still answered 204, and its events are recorded
// as Dropped, as Google silently drops them. Accepted purchases that repeat a
// transaction_id are flagged Duplicate and counted in Stats.
//
// Like Google, /mp/collect answers first and processes later: the request
// is logged and counted at once, but its body is decoded, validated and its
// events recorded only when something reads them (Events, Stats, WaitFor,
// the /emulator/ API, or a request past Options.MaxRecorded pending bodies).
// Readers see exactly what analysing each body on arrival would give, in
// arrival order. Deferring keeps the emulator's JSON decoding, work Google
// does on its own machines, out of benchmarks of the sidecar that run it on
// the same machine. /debug/mp/collect validates at once: its answer carries
// the messages.
//
// # TLS and HTTP/2
//
// Start serves plaintext HTTP/1.1, and HTTP/2 to a client with prior
// knowledge (h2c). StartTLS serves https:// with a fresh self-signed
// certificate (NewCertificate: ECDSA P-256 for 127.0.0.1, ::1 and
// localhost) and offers HTTP/2 by ALPN with HTTP/1.1 as the fallback, at
// most 100 streams per connection (Options.MaxConcurrentStreams), like
// Google's endpoint:
//
//	emu := ga4test.StartTLS(t, nil)
//	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: emu.CertPool()}, ForceAttemptHTTP2: true}
//
// Another process trusts it through SSL_CERT_FILE naming the PEM of
// CertificatePEM (the emulator subcommand's --tls --cert-out).
// TransportStats counts the TCP connections accepted, the most open at
// once, those that carried Measurement Protocol requests, and the
// requests by protocol; HTTPServer gives the same to a server of one's
// own.
//
// # Faults
//
// Faults are set at start (Options.Faults), at runtime (SetFaults, or PUT
// /emulator/faults) or per flag of the emulator subcommand. Next5xx,
// Next429, NextDrop and NextGoAway fail exactly the next N requests; the
// Share fields fail a share of requests chosen by a generator seeded with
// Options.Seed, so a run repeats. A dropped request is read fully,
// recorded as received and then left without an answer (HTTP/1.1: the
// connection is closed; HTTP/2: the stream is reset): the client sees an
// error although GA got the events, which is what makes retries produce
// duplicates. A GOAWAY fault answers 204 and then ends the connection
// gracefully (HTTP/2 GOAWAY; HTTP/1.1 Connection: close), so the client
// must reconnect. Options.HTTP1Only is the endpoint that speaks HTTP/1.1
// only.
//
// # Over HTTP
//
//	GET  /emulator/events     every event received, in order
//	GET  /emulator/requests   every request with status and fault
//	GET  /emulator/stats      counters, TransportStats' too
//	GET  /emulator/faults     current faults
//	PUT  /emulator/faults     {"share_5xx":0.1,"share_429":0.05,"retry_after":"2s","share_drop":0.01,"share_goaway":0.01,"latency":"50ms","jitter":"20ms","next_5xx":1}
//	POST /emulator/reset      forget everything but the faults
package ga4test
