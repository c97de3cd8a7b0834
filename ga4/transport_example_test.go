package ga4_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// answering is a Transport that answers every POST itself: a stand-in for
// a cheaper or an instrumented HTTP stack. The Client still classifies
// what it returns.
type answering struct{ status int }

func (a answering) Post(ctx context.Context, url string, body []byte, timeout time.Duration, limit int) (ga4.Answer, error) {
	return ga4.Answer{Status: a.status, RetryAfter: "30"}, nil
}

// ClientConfig.Transport replaces the HTTP exchange; a 503 from it is
// classified as from any transport: retryable, with its Retry-After.
func ExampleTransport() {
	c, _ := ga4.NewClient(&ga4.ClientConfig{Endpoint: "http://127.0.0.1:9", Transport: answering{503}})
	err := c.SendRaw(context.Background(), "G-ABC123XYZ", "secret", []byte(`{}`))
	var se *ga4.SendError
	if errors.As(err, &se) {
		fmt.Println(se.StatusCode, se.Retryable, se.RetryAfter)
	}
	// Output:
	// 503 true 30s
}
