package ga4_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// The session cookie is named after the measurement id; its value comes in
// the old GS1 format or the GS2 format that GA rolled out in 2025.
func ExampleParseSessionCookie() {
	fmt.Println(ga4.SessionCookieName("G-ABC123XYZ"))

	gs1, _ := ga4.ParseSessionCookie("GS1.1.1673933110.12.1.1673933200.60.0.0")
	fmt.Println(gs1.Format, gs1.SessionID, gs1.SessionNumber, gs1.Engaged, gs1.LastHit.Format(time.RFC3339))

	gs2, _ := ga4.ParseSessionCookie("GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0")
	fmt.Println(gs2.Format, gs2.SessionID, gs2.SessionNumber, gs2.Engaged, gs2.LastHit.Format(time.RFC3339))

	_, err := ga4.ParseSessionCookie("GS2.1.o1$g0")
	fmt.Println(err)
	// Output:
	// _ga_ABC123XYZ
	// GS1 1673933110 12 true 2023-01-17T05:26:40Z
	// GS2 1747132561 1 false 2025-05-13T10:37:35Z
	// GS2 session cookie "GS2.1.o1$g0" has no s<session_id> item
}

// The _ga cookie holds the client_id in its last two parts, also when its
// prefix appears twice.
func ExampleClientIDFromCookie() {
	id, _ := ga4.ClientIDFromCookie("GA1.1.1197596843.1673515099")
	fmt.Println(id)
	id, _ = ga4.ClientIDFromCookie("GA1.1.GA1.2.202830711.1689950339")
	fmt.Println(id)
	_, err := ga4.NormalizeClientID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
	fmt.Println(err)
	fmt.Println(ga4.ClientIDForm("7c9e6679-7425-40de-944b-e07fc1f90ae7"), ga4.ClientIDForm("amp-qRLck9w4Ncp0Um97qQ_1Wg"))
	// Output:
	// 1197596843.1673515099
	// 202830711.1689950339
	// client_id "7c9e6679-7425-40de-944b-e07fc1f90ae7" looks like a UUID: it must be the GA tag's client id (two numbers joined by a dot, e.g. 1197596843.1673515099)
	// non_ga non_ga
}

// A session_id stored as a whole cookie value or as a GS2 fragment (the
// part after "GS2.1.") still carries the session start: ParseSessionID
// recovers it, and SessionIDForm says it was recovered.
func ExampleSessionIDForm() {
	for _, sid := range []string{
		"1748934661",
		"GS2.1.s1748934661$o208$g1$t1748935291$j60$l0$h0",
		"s1748934661$o208$g1$t1748935291$j60$l0$h0",
		"s1748934661%24o208%24g1",
		"1748934661000",
	} {
		n, err := ga4.ParseSessionID(sid)
		form := ga4.SessionIDForm(sid)
		fmt.Println(n, form, form.Recovered(), err != nil)
	}
	// Output:
	// 1748934661 plain false false
	// 1748934661 cookie true false
	// 1748934661 fragment true false
	// 1748934661 fragment true false
	// 0 invalid false true
}

// Google's own example of an invalid request, checked locally.
func ExampleValidate() {
	r := &ga4.Request{ClientID: "1197596843.1673515099", Events: []ga4.Event{{Name: "_badEventName"}}}
	for _, m := range ga4.Validate(r, time.Now()) {
		fmt.Println(m.Code, m.FieldPath, m.Description)
	}
	// Output:
	// NAME_INVALID events Event at index: [0] has invalid name [_badEventName]. Names must start with an alphabetic character.
}

// A webhook that confirms the payment 40 minutes after the session began,
// with only its business time, cannot prove it is still in the session.
func ExampleCheckAttribution() {
	start := time.Unix(1747132561, 0)
	webhook := start.Add(40 * time.Minute)
	fmt.Println(ga4.CheckAttribution("1747132561", webhook, false, webhook))
	checkout := start.Add(12 * time.Minute) // captured in the browser session
	fmt.Println(ga4.CheckAttribution("1747132561", checkout, true, webhook))
	// Output:
	// {false timestamp_outside_session}
	// {true }
}

// BuildEvent turns one outbox row into an MP request.
func ExampleBuildEvent() {
	now := time.Unix(1747133000, 0)
	req, msgs := ga4.BuildEvent(ga4.EventInput{
		EventName:      "purchase",
		TransactionID:  "ORD-1001",
		Value:          "49.90",
		Currency:       "EUR",
		ClientID:       "GA1.1.1197596843.1673515099",
		SessionID:      "1747132561",
		AdUserData:     "granted",
		SessionEventAt: time.Unix(1747132600, 0),
	}, now)
	body, _ := json.Marshal(req)
	fmt.Println(string(body), len(msgs))
	// Output:
	// {"client_id":"1197596843.1673515099","consent":{"ad_user_data":"GRANTED"},"events":[{"name":"purchase","timestamp_micros":1747132600000000,"params":{"currency":"EUR","engagement_time_msec":1,"session_id":1747132561,"transaction_id":"ORD-1001","value":49.90}}]} 0
}
