package ga4_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// TestEncode pins the body Encode writes: keys sorted, empty optional
// fields left out, "events" always present, numbers as given, <, > and &
// escaped.
func TestEncode(t *testing.T) {
	t.Parallel()
	r := &ga4.Request{
		ClientID: "1.2", UserID: "u<1>&", TimestampMicros: 1747137600000000,
		UserProperties:     map[string]ga4.UserProperty{"b": {Value: 1.5}, "a": {Value: "x", TimestampMicros: 7}},
		Consent:            &ga4.Consent{AdPersonalization: ga4.WireConsentDenied},
		ValidationBehavior: ga4.ValidationEnforce,
		Events: []ga4.Event{{Name: "purchase", TimestampMicros: 5, Params: map[string]any{
			"value": json.Number("49.90"), "n": int64(3), "i": 4, "t": true, "z": nil, "s": "a\"b\n\u2028\xff",
			"f":     1e-7,
			"items": []any{map[string]any{"item_id": "x", "price": 10.01}},
			"maps":  []map[string]any{{"k": "v"}},
			"u8":    uint8(7),
		}}, {Name: "sign_up", Params: map[string]any{}}},
	}
	got, err := ga4.Encode(r)
	require.NoError(t, err)
	require.Equal(t, `{"client_id":"1.2","user_id":"u\u003c1\u003e\u0026","timestamp_micros":1747137600000000,`+
		`"user_properties":{"a":{"value":"x","timestamp_micros":7},"b":{"value":1.5}},`+
		`"consent":{"ad_personalization":"DENIED"},"validation_behavior":"ENFORCE_RECOMMENDATIONS",`+
		`"events":[{"name":"purchase","timestamp_micros":5,"params":{"f":1e-7,"i":4,`+
		`"items":[{"item_id":"x","price":10.01}],"maps":[{"k":"v"}],"n":3,"s":"a\"b\n\u2028\ufffd","t":true,`+
		`"u8":7,"value":49.90,"z":null}},{"name":"sign_up"}]}`, string(got))

	got, err = ga4.Encode(&ga4.Request{ClientID: "1.2", Consent: &ga4.Consent{}})
	require.NoError(t, err)
	require.Equal(t, `{"client_id":"1.2","consent":{},"events":null}`, string(got))

	_, err = ga4.Encode(&ga4.Request{Events: []ga4.Event{{Name: "x", Params: map[string]any{"v": json.Number("1,5")}}}})
	require.Error(t, err)
}
