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
// # The GA4 Data API
//
// The emulator also answers the Data API the outcome import reads
// (POST /v1beta/properties/{id}:runReport and :checkCompatibility) from
// the purchases it accepted, in Google's JSON: dimensionHeaders,
// metricHeaders, rows of string values, rowCount, metadata (currencyCode,
// timeZone, dataLossFromOtherRow, subjectToThresholding), propertyQuota
// when asked, and errors in Google's envelope
// {"error":{"code":429,"message":"...","status":"RESOURCE_EXHAUSTED"}}.
// Point Google's client at it with option.WithEndpoint(emu.URL+"/") and
// option.WithoutAuthentication(). Dimensions: transactionId,
// sessionDefaultChannelGroup, sessionSourceMedium, sessionSource,
// sessionMedium, sessionCampaignName, date; metrics: purchaseRevenue,
// totalRevenue (the same here), ecommercePurchases. One date range
// (YYYY-MM-DD, today, yesterday, NdaysAgo), dimensionFilter (inListFilter,
// stringFilter, and / or / not groups), limit (default 10000) and offset.
// Rows come sorted by their dimension values, the "(other)" row last. It
// reads the events the emulator holds (Options.MaxRecorded bounds them).
//
// The rules, Google's where documented and assumptions where not:
//
//   - A purchase is credited to its session's channel when its session_id
//     is usable (ga4.ParseSessionID), it was received no later than 24 h
//     after the session start and its timestamp lies in [start, start +
//     24 h] (ga4.CheckAttribution): documented. The channel is the one
//     seeded for that session (SeedSession, SeedSessions, PUT
//     /emulator/sessions, the emulator subcommand's --sessions); an
//     unseeded session is Direct (an assumption: GA4 saw no browser
//     session to take a source from). Sessions are keyed by their start
//     alone, not by client id.
//   - No usable session_id: Unassigned, source / medium "(not set)"
//     (documented: GA4 opens a sourceless session).
//   - Late (sent after 24 h, or a timestamp outside the session): Direct,
//     "(direct) / (none)" (an assumption; Google says only that such
//     events are not attributed to the session).
//   - Duplicates: GA4 deduplicates purchases by transaction_id on web
//     streams (documented). The emulator deduplicates per transaction id
//     and client id, so a retry counts once and the same id sent from
//     another client id counts again (ecommercePurchases 2): Google's
//     older wording ("within the same user"), an assumption.
//   - Revenue is converted to the property's currency (Options.Currency,
//     default USD) at fixed rates for USD, EUR, GBP, CHF, CAD and JPY; a
//     value sent as a string, a missing, lower-case or unknown currency
//     gives 0 revenue (third-party reports, not documented by Google).
//   - Dates are the event's timestamp_micros (else its receive time) in
//     Options.TimeZone (default UTC). Purchases are reported at once:
//     GA4's delay of hours, and its changes over 24-48 h, are not emulated.
//
// A property id maps to measurement ids with Options.Properties (the
// subcommand's --property 123=G-XXXX); unmapped (nil), every numeric
// property id reports every purchase; mapped, other properties answer 403
// PERMISSION_DENIED. A measurement id in the path answers 400.
//
// Faults (Faults.Report*): ReportLoseShare leaves a share of purchases out
// (not found; Server.ReportLoses says which in advance),
// ReportOtherShare folds a share into one "(other)" row and sets
// dataLossFromOtherRow, both chosen by hashing the transaction id with
// Options.Seed, so every request and every run agree; ReportThresholding
// sets subjectToThresholding; ReportNext429 answers the next N requests
// 429 RESOURCE_EXHAUSTED. Every runReport spends 10 core tokens of
// Google's limits for a standard property (200,000 a day, 40,000 an hour,
// 14,000 an hour per project); propertyQuota reports what is left, and
// once an hour's or a day's tokens are spent the API answers 429 until
// the clock (Options.Now) reaches the next one. Stats counts
// ReportRequests and ReportFaults429 (both kinds of 429).
//
// # Over HTTP
//
//	GET  /emulator/events     every event received, in order
//	GET  /emulator/requests   every request with status and fault
//	GET  /emulator/stats      counters, TransportStats' too
//	GET  /emulator/faults     current faults
//	PUT  /emulator/faults     {"share_5xx":0.1,"share_429":0.05,"retry_after":"2s","share_drop":0.01,"share_goaway":0.01,"latency":"50ms","jitter":"20ms","next_5xx":1}
//	GET  /emulator/sessions   the seeded sessions
//	PUT  /emulator/sessions   {"1747132561":{"group":"Email","source_medium":"newsletter / email","campaign":"spring"}}
//	POST /emulator/reset      forget everything but the faults and the sessions
//	POST /v1beta/properties/{id}:runReport, :checkCompatibility   the Data API
package ga4test
