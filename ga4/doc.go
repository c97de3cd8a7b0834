// Package ga4 knows the GA4 Measurement Protocol (MP): request and event
// payloads, local validation with the same codes as Google's validation
// server, attribution feasibility (is an event still joinable to its browser
// session), the HTTP client with retry classification and secret redaction,
// and parsing of the _ga and _ga_<ID> cookies (GS1 and GS2 formats).
//
// It imports only the standard library and knows nothing of databases.
//
// # Why local validation
//
// /mp/collect answers 2xx to everything: a wrong name, a string value, a
// stale timestamp or a wrong api_secret is dropped or altered silently. This
// package therefore checks every documented rule before sending, and the
// outbox skips what would be lost instead of sending it blind.
//
// # Building a request
//
// BuildEvent turns one conversion (an outbox row) into a Request for one
// client: client_id normalised ("GA1.1.x.y" becomes "x.y"), session_id
// normalised to Unix seconds and put in params with engagement_time_msec,
// timestamp_micros taken from the in-session time (else the business time)
// and never in the future, consent forwarded in upper case:
//
//	req, msgs := ga4.BuildEvent(ga4.EventInput{
//		EventName: "purchase", TransactionID: "ORD-1001",
//		Value: "49.90", Currency: "EUR",
//		ClientID: clientID, SessionID: sessionID,
//		AdUserData: "granted", SessionEventAt: checkoutAt,
//	}, time.Now())
//	if msgs != nil {
//		// skip the row as invalid: the messages say why
//	}
//
// Batches packs built requests of the same client, user and consent into
// requests of at most 25 events and less than 130 kB, remembering which
// conversion each event came from.
//
// # Validation
//
// Validate and ValidateJSON return Messages shaped like the validation
// server's (fieldPath, description, validationCode) with its codes:
// VALUE_INVALID, VALUE_REQUIRED, NAME_INVALID, NAME_RESERVED,
// VALUE_OUT_OF_BOUNDS, EXCEEDED_MAX_ENTITIES and NAME_DUPLICATED. The rules
// come from Google's MP reference; where Google documents nothing (marked
// UNCONFIRMED in our reference notes) the safe choice is made and written in
// the function's doc: for example a future timestamp, a lower-case consent
// value, a null parameter, a whole cookie in client_id or session_id (GA
// takes them since 2026-02-17 but recommends the plain ids), a GS2 fragment
// in session_id and more than 10 custom item parameters are all problems.
//
// # Attribution
//
// CheckAttribution says whether an event can still join its session and,
// if not, why (ReasonMissingSessionID, ReasonInvalidSessionID,
// ReasonBeforeSession, ReasonOutsideSession, ReasonSentAfter24h). GA joins a
// server event to a session only when the event time lies inside the
// session and the request is sent within 24 h of the session start. A
// business time (a webhook) more than SessionTimeout after the session
// start cannot be proven to lie inside the session and counts as outside:
//
//	a := ga4.CheckAttribution(sessionID, paidAt, false, time.Now())
//	if !a.Attributable {
//		log.Info("attribution lost", "reason", a.Reason)
//	}
//
// # Sending
//
// NewClient returns a Client with a keep-alive transport tuned for many
// concurrent sends, a per-request timeout and the global, EU or an
// overridden endpoint (the ga4test emulator in tests):
//
//	c, err := ga4.NewClient(&ga4.ClientConfig{Region: "eu", Timeout: 10 * time.Second})
//	err = c.Send(ctx, "G-ABC123XYZ", apiSecret, &req)
//	var se *ga4.SendError
//	if errors.As(err, &se) && se.Retryable {
//		// back off, at least se.RetryAfter
//	}
//
// Every outcome is classified: nil on 2xx; a retryable *SendError for
// transport errors, timeouts, 408, 429 (with Retry-After) and 5xx; a
// permanent one for other 4xx. The api_secret travels in the query string,
// and Go's url.Error prints the whole URL: the client redacts it, so no
// error string or log line built from these errors contains the secret.
// ValidateRemote asks /debug/mp/collect instead. The exchange itself goes
// through net/http (ClientConfig.HTTPClient, or a tuned default) unless
// ClientConfig.Transport supplies another Transport (the sidecar uses one
// on fasthttp).
//
// # Cookies
//
// When an application only has the raw cookies, ClientIDFromCookie reads the
// client_id from _ga, SessionCookieName names the session cookie of a
// measurement id (_ga_<ID without G->), and ParseSessionCookie reads the
// session id, session number and last hit from it in both the old GS1
// (dot-positional) and the 2025 GS2 ($-separated keys) formats.
// NormalizeClientID and ParseSessionID also recover the ids from values that
// integrations stored raw: a whole cookie, a _ga value with its prefix twice,
// a GS2 fragment ("s1748934661$o208..."); ClientIDForm and SessionIDForm say
// which form a value had (docs/IDS.md). The formats are not documented by
// Google; prefer values captured with gtag('get').
package ga4
