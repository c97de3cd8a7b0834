package ga4_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// now is the fixed send time of the tests: 2025-05-13 12:00:00 UTC.
var now = time.Unix(1747137600, 0).UTC()

// sessionStart is a session that began 20 minutes before now.
const sessionStart = 1747136400

func purchase() ga4.EventInput {
	return ga4.EventInput{
		Key:               "42",
		EventName:         "purchase",
		TransactionID:     "ORD-1001",
		Value:             "30.03",
		Currency:          "eur",
		Params:            json.RawMessage(`{"tax": 1.11, "shipping": 3.33, "coupon": null, "items": [{"item_id": "SKU_1", "item_name": "Tee", "price": 10.01, "quantity": 3}]}`),
		UserProperties:    json.RawMessage(`{"plan": "pro"}`),
		ClientID:          "GA1.1.1197596843.1673515099",
		SessionID:         "1747136400",
		UserID:            "cust_42",
		AdUserData:        "granted",
		AdPersonalization: "denied",
		SessionEventAt:    now.Add(-5 * time.Minute),
		OccurredAt:        now.Add(-1 * time.Minute),
	}
}

func TestBuildEvent(t *testing.T) {
	t.Parallel()

	t.Run("PurchaseEncodesAsGoogleDocuments", func(t *testing.T) {
		t.Parallel()
		req, msgs := ga4.BuildEvent(purchase(), now)
		require.Empty(t, msgs)
		body, err := json.Marshal(req)
		require.NoError(t, err)
		require.JSONEq(t, `{
			"client_id": "1197596843.1673515099",
			"user_id": "cust_42",
			"consent": {"ad_user_data": "GRANTED", "ad_personalization": "DENIED"},
			"user_properties": {"plan": {"value": "pro"}},
			"events": [{
				"name": "purchase",
				"timestamp_micros": 1747137300000000,
				"params": {
					"session_id": 1747136400,
					"engagement_time_msec": 1,
					"transaction_id": "ORD-1001",
					"currency": "EUR",
					"value": 30.03,
					"tax": 1.11,
					"shipping": 3.33,
					"items": [{"item_id": "SKU_1", "item_name": "Tee", "price": 10.01, "quantity": 3}]
				}
			}]
		}`, string(body))
		require.Contains(t, string(body), `"value":30.03`, "value keeps its exact digits as a JSON number")
	})

	t.Run("ExactDecimalDigitsKept", func(t *testing.T) {
		t.Parallel()
		c := purchase()
		c.Value = "49.90"
		req, msgs := ga4.BuildEvent(c, now)
		require.Empty(t, msgs)
		body, err := json.Marshal(req)
		require.NoError(t, err)
		require.Contains(t, string(body), `"value":49.90`)
	})

	t.Run("BusinessTimeWhenNoSessionTime", func(t *testing.T) {
		t.Parallel()
		c := purchase()
		c.SessionEventAt = time.Time{}
		req, _ := ga4.BuildEvent(c, now)
		require.Equal(t, now.Add(-time.Minute).UnixMicro(), req.Events[0].TimestampMicros)
	})

	t.Run("FutureTimeClampedToNow", func(t *testing.T) {
		t.Parallel()
		c := purchase()
		c.SessionEventAt = now.Add(time.Hour)
		req, msgs := ga4.BuildEvent(c, now)
		require.Empty(t, msgs)
		require.Equal(t, now.UnixMicro(), req.Events[0].TimestampMicros)
	})

	t.Run("UnknownConsentOmitted", func(t *testing.T) {
		t.Parallel()
		c := purchase()
		c.AdUserData, c.AdPersonalization = "", ""
		req, _ := ga4.BuildEvent(c, now)
		require.Nil(t, req.Consent)
	})

	t.Run("EngagementTimeKept", func(t *testing.T) {
		t.Parallel()
		c := purchase()
		c.EngagementTimeMsec = 250
		req, _ := ga4.BuildEvent(c, now)
		require.EqualValues(t, 250, req.Events[0].Params["engagement_time_msec"])
	})

	t.Run("SessionCookieNormalised", func(t *testing.T) {
		t.Parallel()
		c := purchase()
		c.SessionID = "GS2.1.s1747136400$o3$g1$t1747137000$j0$l0$h0"
		req, msgs := ga4.BuildEvent(c, now)
		require.Empty(t, msgs)
		require.EqualValues(t, 1747136400, req.Events[0].Params["session_id"])
	})

	t.Run("TrailingDataRejected", func(t *testing.T) {
		t.Parallel()
		c := purchase()
		c.Params = json.RawMessage(`{"tax": 1} {"x": 2}`)
		c.UserProperties = json.RawMessage(`{}0`)
		_, msgs := ga4.BuildEvent(c, now)
		require.Equal(t, []string{"VALUE_INVALID events[0].params", "VALUE_INVALID user_properties"}, codesAndPaths(msgs))
	})

	t.Run("UnusableSessionIDIsLeftOut", func(t *testing.T) {
		t.Parallel()
		for _, sid := range []string{"1747136400123", "_ga_ABC123XYZ", "1500000000", "1747400000"} {
			c := purchase()
			c.SessionID = sid
			req, msgs := ga4.BuildEvent(c, now)
			require.Empty(t, msgs, "session_id %q: the row is still sent", sid)
			require.NotContains(t, req.Events[0].Params, "session_id", "session_id %q", sid)
			require.Contains(t, req.Events[0].Params, "engagement_time_msec")
		}
	})

	t.Run("GarbageReportedNotPanicking", func(t *testing.T) {
		t.Parallel()
		c := ga4.EventInput{EventName: "purchase", Value: "12,50", ClientID: "a@b.example", SessionID: "1747136400123",
			Params: json.RawMessage(`[1,2]`), UserProperties: json.RawMessage(`{`), AdUserData: "yes"}
		_, msgs := ga4.BuildEvent(c, now)
		require.ElementsMatch(t, []string{
			"VALUE_INVALID events[0].params",
			"VALUE_INVALID user_properties",
			"VALUE_INVALID client_id",
			"VALUE_INVALID consent.ad_user_data",
			"VALUE_INVALID events[0].params.value",
			"VALUE_REQUIRED events[0].params.transaction_id",
			"VALUE_REQUIRED events[0].params.currency",
		}, codesAndPaths(msgs))
	})
}

func codesAndPaths(msgs []ga4.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Code + " " + m.FieldPath
	}
	return out
}
