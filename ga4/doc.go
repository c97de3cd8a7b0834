// Package ga4 knows the GA4 Measurement Protocol (MP): request and event
// payloads, local validation with the same codes as Google's validation
// server, attribution feasibility (is an event still joinable to its browser
// session), the HTTP client with retry classification and secret redaction,
// and parsing of the _ga and _ga_<ID> cookies (GS1 and GS2 formats).
//
// It imports only the standard library and knows nothing of databases.
package ga4
