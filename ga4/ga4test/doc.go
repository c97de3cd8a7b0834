// Package ga4test is a Measurement Protocol emulator for tests, the demo and
// the emulator subcommand. It serves /mp/collect and /debug/mp/collect,
// records what it receives and injects faults on demand (5xx, 429 with
// Retry-After, latency, connections closed after the request was read).
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
// # Faults
//
// Faults are set at start (Options.Faults), at runtime (SetFaults, or PUT
// /emulator/faults) or per flag of the emulator subcommand. Next5xx, Next429
// and NextDrop fail exactly the next N requests; the Share fields fail a
// share of requests chosen by a generator seeded with Options.Seed, so a
// run repeats. A dropped connection is read fully, recorded as received and
// then closed without an answer: the client sees an error although GA got
// the events, which is what makes retries produce duplicates.
//
// # Over HTTP
//
//	GET  /emulator/events     every event received, in order
//	GET  /emulator/requests   every request with status and fault
//	GET  /emulator/stats      counters
//	GET  /emulator/faults     current faults
//	PUT  /emulator/faults     {"share_5xx":0.1,"share_429":0.05,"retry_after":"2s","share_drop":0.01,"latency":"50ms","jitter":"20ms","next_5xx":1}
//	POST /emulator/reset      forget everything but the faults
package ga4test
