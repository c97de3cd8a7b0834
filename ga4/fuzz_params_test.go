package ga4

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzDecodeParams fuzzes the decoder of the outbox params and
// user_properties jsonb (decodeObject, decodeUserProperties), then the whole
// path a row takes: BuildEvent -> Encode -> what Google's validator sees.
// Properties: it never panics; null values are dropped; numbers stay exact
// (json.Number); a request BuildEvent calls valid encodes to a body that
// ValidateJSON also calls valid.
func FuzzDecodeParams(f *testing.F) {
	for _, s := range []string{
		`{"items":[{"item_id":"SKU-1","price":49.90,"quantity":1}],"coupon":"X","tax":1.11}`,
		`{"coupon":null,"shipping":4.95}`, `{"value":"49.99","currency":"EUR"}`, `"{\"a\":1}"`, `[1,2]`, `42`,
		`null`, ``, `{`, `{"a":1,"a":2}`, `{"meta":{"cart":1}}`, `{"n":1e400}`, `{"n":-0.000000000000000001}`,
		`{"coupon":"SAVE​10","x":"🎁"}`, `{"items":[null,1,"x",{"item_name":null}]}`, "{\"k\":\"\xff\"}",
		`{"session_id":"GS2.1.s1747132561$o1","engagement_time_msec":-1}`, `{"":1}`,
	} {
		f.Add([]byte(s), []byte(`{"plan":"pro"}`))
	}
	f.Add([]byte(`{}`), []byte(`{"plan":{"value":"pro","timestamp_micros":1747132600000000},"x":null}`))
	now := time.Date(2025, 5, 13, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, params, props []byte) {
		m, err := decodeObject(params)
		if m == nil {
			t.Fatal("decodeObject returned a nil map")
		}
		if err == nil {
			checkDecoded(t, m)
		}
		if _, err := decodeUserProperties(props); err == nil && !json.Valid(props) && len(bytes.TrimSpace(props)) > 0 {
			t.Fatalf("user_properties %q is not JSON but decoded without error", props)
		}
		c := EventInput{EventName: "purchase", TransactionID: "ORD-1", Value: "49.90", Currency: "EUR",
			Params: params, UserProperties: props, ClientID: "1197596843.1673515099", SessionID: "1747132561",
			SessionEventAt: now.Add(-10 * time.Minute), AdUserData: "granted"}
		req, msgs := BuildEvent(c, now)
		if len(msgs) > 0 {
			return
		}
		body, err := Encode(&req)
		if err != nil {
			t.Fatalf("valid request does not encode: %v", err)
		}
		wire, err := ValidateJSON(body, now)
		if err != nil || len(wire) > 0 {
			t.Fatalf("BuildEvent called %q valid, the encoded body is not: %v %v\n%s", params, err, wire, body)
		}
	})
}

// checkDecoded checks a decoded params object: no nil values, numbers as
// json.Number with the exact text.
func checkDecoded(t *testing.T, m map[string]any) {
	t.Helper()
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			t.Fatalf("null value kept for %q", k)
		case float64:
			t.Fatalf("number %q decoded as float64 %v: precision may be lost", k, x)
		case json.Number:
			if !validNumber(string(x)) {
				t.Fatalf("number %q decoded as invalid literal %q", k, x)
			}
		}
	}
}
