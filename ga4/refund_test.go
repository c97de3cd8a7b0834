package ga4_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// A refund follows a purchase's rules (transaction_id, currency with value,
// items), and its value is the amount refunded, never negative.
func TestBuildRefund(t *testing.T) {
	t.Parallel()
	refund := func(value, items string) ga4.EventInput {
		return ga4.EventInput{EventName: "refund", TransactionID: "ORD-1001", Value: value, Currency: "EUR",
			Params: json.RawMessage(`{"refund_id": "re_1"` + items + `}`), ClientID: "1197596843.1673515099",
			OccurredAt: now.Add(-time.Minute)}
	}
	codes := func(msgs []ga4.Message) map[string]string {
		out := map[string]string{}
		for _, m := range msgs {
			out[m.FieldPath] = m.Code
		}
		return out
	}
	t.Run("PartialRefundIsValid", func(t *testing.T) {
		req, msgs := ga4.BuildEvent(refund("24.95", `, "items": [{"item_id": "SKU-1", "price": 24.95, "quantity": 1}]`), now)
		require.Empty(t, msgs)
		p := req.Events[0].Params
		require.Equal(t, "refund", req.Events[0].Name)
		require.Equal(t, []any{"ORD-1001", json.Number("24.95"), "EUR", "re_1"}, []any{p["transaction_id"], p["value"], p["currency"], p["refund_id"]})
	})
	t.Run("FullRefundWithTransactionIDOnly", func(t *testing.T) {
		in := refund("", "")
		in.Currency = ""
		_, msgs := ga4.BuildEvent(in, now)
		require.Empty(t, msgs)
	})
	for _, tt := range []struct {
		name string
		edit func(in *ga4.EventInput)
		path string
		code string
	}{
		{"MissingTransactionID", func(in *ga4.EventInput) { in.TransactionID = "" }, "events[0].params.transaction_id", ga4.CodeValueRequired},
		{"NegativeValue", func(in *ga4.EventInput) { in.Value = "-24.95" }, "events[0].params.value", ga4.CodeValueInvalid},
		{"ValueWithoutCurrency", func(in *ga4.EventInput) { in.Currency = "" }, "events[0].params.currency", ga4.CodeValueRequired},
		{"ItemWithoutIDOrName", func(in *ga4.EventInput) { in.Params = json.RawMessage(`{"items": [{"price": 1}]}`) }, "events[0].params.items[0]", ga4.CodeValueRequired},
		{"ItemsNotAList", func(in *ga4.EventInput) { in.Params = json.RawMessage(`{"items": {"item_id": "x"}}`) }, "events[0].params.items", ga4.CodeValueInvalid},
		{"ItemQuantityNotANumber", func(in *ga4.EventInput) {
			in.Params = json.RawMessage(`{"items": [{"item_id": "x", "quantity": "two"}]}`)
		}, "events[0].params.items[0].quantity", ga4.CodeValueInvalid},
		{"RefundIDTooLong", func(in *ga4.EventInput) {
			in.Params = json.RawMessage(`{"refund_id": "` + string(make101()) + `"}`)
		}, "events[0].params.refund_id", ga4.CodeValueOutOfBounds},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := refund("24.95", "")
			tt.edit(&in)
			_, msgs := ga4.BuildEvent(in, now)
			require.Equal(t, tt.code, codes(msgs)[tt.path], "%v", msgs)
		})
	}
	t.Run("NegativePurchaseValueIsNotThisRule", func(t *testing.T) {
		in := refund("-1.00", "")
		in.EventName = "purchase"
		_, msgs := ga4.BuildEvent(in, now)
		require.NotContains(t, codes(msgs), "events[0].params.value")
	})
}

func make101() []byte {
	b := make([]byte, 101)
	for i := range b {
		b[i] = 'r'
	}
	return b
}
