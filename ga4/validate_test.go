package ga4_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// validRequest is the reference's minimal correct web payload, moved to
// the tests' clock.
func validRequest() *ga4.Request {
	return &ga4.Request{
		ClientID: "1197596843.1673515099",
		UserID:   "cust_42",
		Consent:  &ga4.Consent{AdUserData: "GRANTED", AdPersonalization: "DENIED"},
		UserProperties: map[string]ga4.UserProperty{
			"plan": {Value: "pro"},
		},
		Events: []ga4.Event{{
			Name:            "purchase",
			TimestampMicros: now.Add(-10 * time.Minute).UnixMicro(),
			Params: map[string]any{
				"session_id":           int64(sessionStart),
				"engagement_time_msec": 1,
				"transaction_id":       "ORD-1001",
				"currency":             "EUR",
				"value":                json.Number("30.03"),
				"shipping":             3.33,
				"tax":                  1.11,
				"items": []any{map[string]any{
					"item_id": "SKU_1", "item_name": "Tee", "price": 10.01, "quantity": 3,
				}},
			},
		}},
	}
}

func TestValidateAcceptsValidRequest(t *testing.T) {
	t.Parallel()
	require.Empty(t, ga4.Validate(validRequest(), now))
}

func TestValidateRules(t *testing.T) {
	t.Parallel()
	ev := func(f func(e *ga4.Event)) func(r *ga4.Request) { return func(r *ga4.Request) { f(&r.Events[0]) } }
	param := func(k string, v any) func(r *ga4.Request) {
		return ev(func(e *ga4.Event) { e.Params[k] = v })
	}
	item := func(k string, v any) func(r *ga4.Request) {
		return ev(func(e *ga4.Event) { e.Params["items"].([]any)[0].(map[string]any)[k] = v })
	}
	tooMany := func(n int) map[string]any {
		m := map[string]any{}
		for i := range n {
			m[fmt.Sprintf("p%d", i)] = i
		}
		return m
	}
	cases := []struct {
		name, code, path string
		mutate           func(r *ga4.Request)
	}{
		// Google's documented example (validating-events page).
		{"GoogleExampleBadEventName", "NAME_INVALID", "events", ev(func(e *ga4.Event) { e.Name = "_badEventName" })},
		{"EventNameMissing", "VALUE_REQUIRED", "events", ev(func(e *ga4.Event) { e.Name = "" })},
		{"EventNameTooLong", "NAME_INVALID", "events", ev(func(e *ga4.Event) { e.Name = strings.Repeat("a", 41) })},
		{"EventNameBadChar", "NAME_INVALID", "events", ev(func(e *ga4.Event) { e.Name = "add-to-cart" })},
		{"EventNameReserved", "NAME_RESERVED", "events", ev(func(e *ga4.Event) { e.Name = "session_start" })},
		{"EventNameAppOnly", "NAME_RESERVED", "events", ev(func(e *ga4.Event) { e.Name = "screen_view" })},
		{"NoEvents", "VALUE_REQUIRED", "events", func(r *ga4.Request) { r.Events = nil }},
		{"TooManyEvents", "EXCEEDED_MAX_ENTITIES", "events", func(r *ga4.Request) {
			for range 25 {
				r.Events = append(r.Events, ga4.Event{Name: "sign_up"})
			}
		}},
		{"TooManyParams", "EXCEEDED_MAX_ENTITIES", "events[0].params", ev(func(e *ga4.Event) { e.Name, e.Params = "sign_up", tooMany(26) })},
		{"ParamNameBadStart", "NAME_INVALID", "events[0].params._x", param("_x", "a")},
		{"ParamNameTooLong", "NAME_INVALID", "events[0].params." + strings.Repeat("p", 41), param(strings.Repeat("p", 41), "a")},
		{"ParamNameReserved", "NAME_RESERVED", "events[0].params.firebase_conversion", param("firebase_conversion", 1)},
		{"ParamPrefixGoogle", "NAME_RESERVED", "events[0].params.google_x", param("google_x", "a")},
		{"ParamPrefixGA", "NAME_RESERVED", "events[0].params.ga_x", param("ga_x", "a")},
		{"ParamPrefixGtag", "NAME_RESERVED", "events[0].params.gtag.x", param("gtag.x", "a")},
		{"ParamValueTooLong", "VALUE_OUT_OF_BOUNDS", "events[0].params.coupon", param("coupon", strings.Repeat("x", 101))},
		{"ParamNull", "VALUE_INVALID", "events[0].params.coupon", param("coupon", nil)},
		{"ParamObject", "VALUE_INVALID", "events[0].params.meta", param("meta", map[string]any{"a": 1})},
		{"ParamListNotItems", "VALUE_INVALID", "events[0].params.tags", param("tags", []any{"a"})},
		{"ValueAsString", "VALUE_INVALID", "events[0].params.value", param("value", "30.03")},
		{"TaxAsString", "VALUE_INVALID", "events[0].params.tax", param("tax", "1.11")},
		{"ShippingAsBool", "VALUE_INVALID", "events[0].params.shipping", param("shipping", true)},
		{"ValueBadJSONNumber", "VALUE_INVALID", "events[0].params.value", param("value", json.Number("1,5"))},
		{"CurrencyMissing", "VALUE_REQUIRED", "events[0].params.currency", ev(func(e *ga4.Event) { delete(e.Params, "currency") })},
		{"CurrencyLowerCase", "VALUE_INVALID", "events[0].params.currency", param("currency", "eur")},
		{"CurrencyNotISO", "VALUE_INVALID", "events[0].params.currency", param("currency", "XYZ")},
		{"TransactionIDMissing", "VALUE_REQUIRED", "events[0].params.transaction_id", ev(func(e *ga4.Event) { delete(e.Params, "transaction_id") })},
		{"TransactionIDEmpty", "VALUE_INVALID", "events[0].params.transaction_id", param("transaction_id", "")},
		{"TransactionIDNumber", "VALUE_INVALID", "events[0].params.transaction_id", param("transaction_id", 7)},
		{"ItemsNotList", "VALUE_INVALID", "events[0].params.items", param("items", "SKU_1")},
		{"ItemNotObject", "VALUE_INVALID", "events[0].params.items[0]", param("items", []any{"SKU_1"})},
		{"ItemWithoutIDOrName", "VALUE_REQUIRED", "events[0].params.items[0]", param("items", []any{map[string]any{"price": 1}})},
		{"ItemPriceString", "VALUE_INVALID", "events[0].params.items[0].price", item("price", "10.01")},
		{"ItemQuantityString", "VALUE_INVALID", "events[0].params.items[0].quantity", item("quantity", "3")},
		{"ItemParamNameInvalid", "NAME_INVALID", "events[0].params.items[0].2nd", item("2nd", "a")},
		{"ItemValueTooLong", "VALUE_OUT_OF_BOUNDS", "events[0].params.items[0].item_brand", item("item_brand", strings.Repeat("b", 101))},
		{"TooManyItems", "EXCEEDED_MAX_ENTITIES", "events[0].params.items", ev(func(e *ga4.Event) {
			items := make([]any, 201)
			for i := range items {
				items[i] = map[string]any{"item_id": "x"}
			}
			e.Params["items"] = items
		})},
		{"TooManyCustomItemParams", "EXCEEDED_MAX_ENTITIES", "events[0].params.items[0]", ev(func(e *ga4.Event) {
			it := tooMany(11)
			it["item_id"] = "x"
			e.Params["items"] = []any{it}
		})},
		{"ClientIDMissing", "VALUE_REQUIRED", "client_id", func(r *ga4.Request) { r.ClientID = "" }},
		{"ClientIDCookie", "VALUE_INVALID", "client_id", func(r *ga4.Request) { r.ClientID = "GA1.1.1197596843.1673515099" }},
		{"ClientIDUUID", "VALUE_INVALID", "client_id", func(r *ga4.Request) { r.ClientID = "7c9e6679-7425-40de-944b-e07fc1f90ae7" }},
		{"ClientIDEmail", "VALUE_INVALID", "client_id", func(r *ga4.Request) { r.ClientID = "jane@example.com" }},
		{"ClientIDZero", "VALUE_INVALID", "client_id", func(r *ga4.Request) { r.ClientID = "0.1673515099" }},
		{"UserIDTooLong", "VALUE_OUT_OF_BOUNDS", "user_id", func(r *ga4.Request) { r.UserID = strings.Repeat("u", 257) }},
		{"UserIDEmail", "VALUE_INVALID", "user_id", func(r *ga4.Request) { r.UserID = "jane@example.com" }},
		{"UserIDNotUTF8", "VALUE_INVALID", "user_id", func(r *ga4.Request) { r.UserID = "\xff" }},
		{"SessionIDMillis", "VALUE_INVALID", "events[0].params.session_id", param("session_id", int64(1747136400000))},
		{"SessionIDGarbage", "VALUE_INVALID", "events[0].params.session_id", param("session_id", "abc")},
		{"SessionIDBool", "VALUE_INVALID", "events[0].params.session_id", param("session_id", true)},
		{"SessionIDTooOld", "VALUE_INVALID", "events[0].params.session_id", param("session_id", "1500000000")},
		{"SessionIDFuture", "VALUE_INVALID", "events[0].params.session_id", param("session_id", now.Add(48*time.Hour).Unix())},
		{"EventBeforeSession", "VALUE_INVALID", "events[0].timestamp_micros", ev(func(e *ga4.Event) { e.TimestampMicros = (sessionStart - 1) * 1e6 })},
		{"RequestTimeBeforeSession", "VALUE_INVALID", "timestamp_micros", func(r *ga4.Request) {
			r.Events[0].TimestampMicros = 0
			r.TimestampMicros = (sessionStart - 60) * 1e6
		}},
		{"EngagementNegative", "VALUE_INVALID", "events[0].params.engagement_time_msec", param("engagement_time_msec", -1)},
		{"EngagementString", "VALUE_INVALID", "events[0].params.engagement_time_msec", param("engagement_time_msec", "1")},
		{"TimestampFuture", "VALUE_INVALID", "events[0].timestamp_micros", ev(func(e *ga4.Event) { e.TimestampMicros = now.Add(time.Second).UnixMicro() })},
		{"TimestampMillis", "VALUE_INVALID", "timestamp_micros", func(r *ga4.Request) { r.TimestampMicros = now.UnixMilli() }},
		{"TimestampNegative", "VALUE_INVALID", "timestamp_micros", func(r *ga4.Request) { r.TimestampMicros = -1 }},
		{"TimestampOlderThan72h", "VALUE_OUT_OF_BOUNDS", "events[0].timestamp_micros", func(r *ga4.Request) {
			delete(r.Events[0].Params, "session_id")
			r.Events[0].TimestampMicros = now.Add(-73 * time.Hour).UnixMicro()
		}},
		{"ConsentLowerCase", "VALUE_INVALID", "consent.ad_user_data", func(r *ga4.Request) { r.Consent.AdUserData = "granted" }},
		{"ConsentOther", "VALUE_INVALID", "consent.ad_personalization", func(r *ga4.Request) { r.Consent.AdPersonalization = "YES" }},
		{"ValidationBehaviorUnknown", "VALUE_INVALID", "validation_behavior", func(r *ga4.Request) { r.ValidationBehavior = "STRICT" }},
		{"UserPropertyNameTooLong", "NAME_INVALID", "user_properties." + strings.Repeat("u", 25), func(r *ga4.Request) {
			r.UserProperties[strings.Repeat("u", 25)] = ga4.UserProperty{Value: "x"}
		}},
		{"UserPropertyReserved", "NAME_RESERVED", "user_properties.first_visit_time", func(r *ga4.Request) {
			r.UserProperties["first_visit_time"] = ga4.UserProperty{Value: "x"}
		}},
		{"UserPropertyReservedPrefix", "NAME_RESERVED", "user_properties.google_x", func(r *ga4.Request) {
			r.UserProperties["google_x"] = ga4.UserProperty{Value: "x"}
		}},
		{"UserPropertyValueTooLong", "VALUE_OUT_OF_BOUNDS", "user_properties.plan.value", func(r *ga4.Request) {
			r.UserProperties["plan"] = ga4.UserProperty{Value: strings.Repeat("v", 37)}
		}},
		{"UserPropertyValueObject", "VALUE_INVALID", "user_properties.plan.value", func(r *ga4.Request) {
			r.UserProperties["plan"] = ga4.UserProperty{Value: map[string]any{}}
		}},
		{"UserPropertyTimestampFuture", "VALUE_INVALID", "user_properties.plan.timestamp_micros", func(r *ga4.Request) {
			r.UserProperties["plan"] = ga4.UserProperty{Value: "pro", TimestampMicros: now.Add(time.Hour).UnixMicro()}
		}},
		{"TooManyUserProperties", "EXCEEDED_MAX_ENTITIES", "user_properties", func(r *ga4.Request) {
			for i := range 25 {
				r.UserProperties[fmt.Sprintf("up%d", i)] = ga4.UserProperty{Value: i}
			}
		}},
		{"BodyTooLarge", "VALUE_OUT_OF_BOUNDS", "body", func(r *ga4.Request) {
			for i := range 24 {
				e := ga4.Event{Name: "note", Params: map[string]any{}}
				for j := range 25 {
					e.Params[fmt.Sprintf("p%d", j)] = strings.Repeat("\x01", 100) // escapes to 600 bytes each
				}
				_ = i
				r.Events = append(r.Events, e)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := validRequest()
			tc.mutate(r)
			msgs := ga4.Validate(r, now)
			require.Len(t, msgs, 1, "messages: %v", msgs)
			require.Equal(t, tc.code, msgs[0].Code)
			require.Equal(t, tc.path, msgs[0].FieldPath)
			require.NotEmpty(t, msgs[0].Description)
		})
	}
}

func TestValidateGoogleExampleDescription(t *testing.T) {
	t.Parallel()
	r := validRequest()
	r.Events[0].Name = "_badEventName"
	msgs := ga4.Validate(r, now)
	require.Equal(t, []ga4.Message{{
		FieldPath:   "events",
		Description: "Event at index: [0] has invalid name [_badEventName]. Names must start with an alphabetic character.",
		Code:        "NAME_INVALID",
	}}, msgs)
}

func TestValidateJSON(t *testing.T) {
	t.Parallel()

	t.Run("ReferencePayloadValid", func(t *testing.T) {
		t.Parallel()
		body, err := json.Marshal(validRequest())
		require.NoError(t, err)
		msgs, err := ga4.ValidateJSON(body, now)
		require.NoError(t, err)
		require.Empty(t, msgs)
	})

	t.Run("DuplicateKey", func(t *testing.T) {
		t.Parallel()
		body := `{"client_id":"1.2","events":[{"name":"sign_up","params":{"method":"a","method":"b"}}]}`
		msgs, err := ga4.ValidateJSON([]byte(body), now)
		require.NoError(t, err)
		require.Equal(t, []string{"NAME_DUPLICATED events[0].params.method"}, codesAndPaths(msgs))
	})

	t.Run("WrongType", func(t *testing.T) {
		t.Parallel()
		msgs, err := ga4.ValidateJSON([]byte(`{"client_id": 12, "events": [{"name": "sign_up"}]}`), now)
		require.NoError(t, err)
		require.Equal(t, []string{"VALUE_INVALID client_id"}, codesAndPaths(msgs), "one message, not also VALUE_REQUIRED")
	})

	t.Run("NotJSON", func(t *testing.T) {
		t.Parallel()
		for _, body := range []string{"", "{", "[1]", "42", "nope"} {
			_, err := ga4.ValidateJSON([]byte(body), now)
			require.ErrorIs(t, err, ga4.ErrNotJSON, body)
		}
	})

	t.Run("ExactBodySize", func(t *testing.T) {
		t.Parallel()
		pad := strings.Repeat(" ", ga4.MaxBodyBytes)
		msgs, err := ga4.ValidateJSON([]byte(`{"client_id":"1.2","events":[{"name":"sign_up"}]}`+pad), now)
		require.NoError(t, err)
		require.Equal(t, []string{"VALUE_OUT_OF_BOUNDS body"}, codesAndPaths(msgs))
	})
}

func TestValidationErrorListsMessages(t *testing.T) {
	t.Parallel()
	err := &ga4.ValidationError{Messages: []ga4.Message{{FieldPath: "events", Code: "NAME_INVALID", Description: "bad"}}}
	require.Equal(t, "invalid measurement protocol request (1 problem): NAME_INVALID events: bad", err.Error())
}

// The reference's "minimal correct web payload" (section 11), verbatim.
const referencePayload = `{
  "client_id": "1197596843.1673515099",
  "user_id": "cust_42",
  "consent": {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
  "events": [{
    "name": "purchase",
    "timestamp_micros": 1747132600000000,
    "params": {
      "session_id": 1747132561,
      "engagement_time_msec": 1,
      "transaction_id": "ORD-1001",
      "currency": "EUR",
      "value": 30.03,
      "shipping": 3.33,
      "tax": 1.11,
      "items": [{"item_id": "SKU_1", "item_name": "Tee", "price": 10.01, "quantity": 3}]
    }
  }]
}`

func TestValidateReferencePayload(t *testing.T) {
	t.Parallel()
	sent := time.Unix(1747132700, 0)
	msgs, err := ga4.ValidateJSON([]byte(referencePayload), sent)
	require.NoError(t, err)
	require.Empty(t, msgs)

	a := ga4.CheckAttribution("1747132561", time.UnixMicro(1747132600000000), true, sent)
	require.True(t, a.Attributable, "the reference says this payload is attributable")

	late := time.UnixMicro(1747132600000000).Add(72*time.Hour + time.Second)
	msgs, err = ga4.ValidateJSON([]byte(referencePayload), late)
	require.NoError(t, err)
	require.Equal(t, []string{"VALUE_OUT_OF_BOUNDS events[0].timestamp_micros"}, codesAndPaths(msgs))
}
