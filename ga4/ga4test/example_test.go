package ga4test_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// The emulator answers like Google, records what it got and fails on
// demand. In a test, ga4test.Start(t, opts) does the httptest part.
func ExampleNewServer() {
	emu, _ := ga4test.NewServer(&ga4test.Options{
		Secrets: map[string][]string{"G-DEMO1": {"demo-secret"}},
		Faults:  ga4test.Faults{Next5xx: 1},
	})
	srv := httptest.NewServer(emu)
	defer srv.Close()

	client, _ := ga4.NewClient(&ga4.ClientConfig{Endpoint: srv.URL})
	req := &ga4.Request{ClientID: "1197596843.1673515099", Events: []ga4.Event{{
		Name: "purchase", Params: map[string]any{"transaction_id": "ORD-1", "value": 9.5, "currency": "EUR"},
	}}}
	ctx := context.Background()
	fmt.Println(client.Send(ctx, "G-DEMO1", "demo-secret", req))
	fmt.Println(client.Send(ctx, "G-DEMO1", "demo-secret", req))
	fmt.Println(client.Send(ctx, "G-DEMO1", "demo-secret", req))
	st := emu.Stats()
	fmt.Println(st.Requests, st.Faults5xx, st.Accepted, st.Duplicates)
	// Output:
	// measurement protocol answered HTTP 500 (retryable): emulated server error
	// <nil>
	// <nil>
	// 3 1 2 1
}
