package delivery_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck"),
		// Idle request workers end by themselves a second after their last
		// request (TestWorkers checks that they do).
		goleak.IgnoreTopFunction("github.com/ga4-outbox/ga4-outbox/internal/delivery.(*workers).loop"),
	)
}
