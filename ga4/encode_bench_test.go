package ga4

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkEncodeRequest compares the hand-written encoder with
// encoding/json on one purchase request (the struct tags give the same
// document): the figure that decides whether the encoder is worth keeping,
// set against the CPU a request costs over TLS (BenchmarkClientSend).
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
	// The same document through encoding/json: types without MarshalJSON.
	type plainEvent struct {
		Name            string         `json:"name"`
		TimestampMicros int64          `json:"timestamp_micros,omitempty"`
		Params          map[string]any `json:"params,omitempty"`
	}
	type plainRequest struct {
		ClientID           string                  `json:"client_id,omitempty"`
		UserID             string                  `json:"user_id,omitempty"`
		TimestampMicros    int64                   `json:"timestamp_micros,omitempty"`
		UserProperties     map[string]UserProperty `json:"user_properties,omitempty"`
		Consent            *Consent                `json:"consent,omitempty"`
		ValidationBehavior string                  `json:"validation_behavior,omitempty"`
		Events             []plainEvent            `json:"events"`
	}
	plain := plainRequest{ClientID: r.ClientID, UserID: r.UserID, TimestampMicros: r.TimestampMicros,
		UserProperties: r.UserProperties, Consent: r.Consent, ValidationBehavior: r.ValidationBehavior}
	for _, e := range r.Events {
		plain.Events = append(plain.Events, plainEvent(e))
	}
	b.Run("handwritten", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Encode(&r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&plain); err != nil {
				b.Fatal(err)
			}
		}
	})
}
