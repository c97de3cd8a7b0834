package ga4

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// stdString encodes s with encoding/json, without HTML escaping.
func stdString(t testing.TB, s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(s))
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func FuzzAppendStringMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "\n\r\t\x00\x1f", "\xff\xfe", "é€😀", "\u2028\u2029", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendString(nil, s)), stdString(t, s); got != want {
			t.Fatalf("appendString(%q) = %s, encoding/json = %s", s, got, want)
		}
	})
}

func TestAppendFloatMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, 1, -1, 10.01, 30.03, 1e-7, 1.5e-9, 123456789012345678, 1e21, 1e300, -0.000001, math.SmallestNonzeroFloat64} {
		want, err := json.Marshal(f)
		require.NoError(t, err)
		got, err := appendFloat(nil, f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%v", f)
	}
	_, err := appendFloat(nil, math.NaN())
	require.Error(t, err)
}

func TestEncodeMatchesReflection(t *testing.T) {
	t.Parallel()
	r := &Request{
		ClientID: "1.2", UserID: "u<1>", TimestampMicros: 1747137600000000,
		UserProperties:     map[string]UserProperty{"b": {Value: 1.5}, "a": {Value: "x", TimestampMicros: 7}},
		Consent:            &Consent{AdPersonalization: WireConsentDenied},
		ValidationBehavior: ValidationEnforce,
		Events: []Event{{Name: "purchase", TimestampMicros: 5, Params: map[string]any{
			"value": json.Number("49.90"), "n": int64(3), "i": 4, "t": true, "z": nil, "s": "a\"b",
			"items": []any{map[string]any{"item_id": "x", "price": 10.01}},
			"maps":  []map[string]any{{"k": "v"}},
			"u8":    uint8(7),
		}}, {Name: "sign_up"}},
	}
	got, err := Encode(r)
	require.NoError(t, err)
	// The same data as plain maps, encoded by reflection.
	plain := map[string]any{
		"client_id": "1.2", "user_id": "u<1>", "timestamp_micros": 1747137600000000,
		"user_properties":     map[string]any{"b": map[string]any{"value": 1.5}, "a": map[string]any{"value": "x", "timestamp_micros": 7}},
		"consent":             map[string]any{"ad_personalization": "DENIED"},
		"validation_behavior": ValidationEnforce,
		"events": []any{map[string]any{"name": "purchase", "timestamp_micros": 5, "params": r.Events[0].Params},
			map[string]any{"name": "sign_up"}},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	require.NoError(t, enc.Encode(plain))
	require.JSONEq(t, buf.String(), string(got))
	require.Contains(t, string(got), `"value":49.90`)
	require.True(t, json.Valid(got))

	_, err = Encode(&Request{Events: []Event{{Name: "x", Params: map[string]any{"v": json.Number("1,5")}}}})
	require.Error(t, err)
}
