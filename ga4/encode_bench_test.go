package ga4

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkEncodeRequest measures Encode (encoding/json) on one purchase
// request with three items, to set against the CPU a request costs over TLS
// (BenchmarkClientSend).
func BenchmarkEncodeRequest(b *testing.B) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	c := EventInput{Key: "1", EventName: "purchase", TransactionID: "ORD-1001", Value: "30.03", Currency: "EUR",
		ClientID: "1197596843.1673515099", SessionID: "1764755400", OccurredAt: now.Add(-time.Minute),
		Params: json.RawMessage(`{"items": [{"item_id": "SKU_1", "item_name": "Tee", "price": 10.01, "quantity": 1},
			{"item_id": "SKU_2", "item_name": "Cap", "price": 10.01, "quantity": 1},
			{"item_id": "SKU_3", "item_name": "Mug", "price": 10.01, "quantity": 1}]}`)}
	r, msgs := BuildEvent(c, now)
	if len(msgs) > 0 {
		b.Fatal(msgs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(&r); err != nil {
			b.Fatal(err)
		}
	}
}
