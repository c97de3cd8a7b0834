package outcomes_test

import (
	"fmt"
	"time"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
)

// Classify turns GA4's rows for one transaction id into the order's
// outcome: here a purchase GA4 credited to Direct, two days after the
// order, so still provisional.
func ExampleClassify() {
	orderedAt := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	order := outcomes.Order{TransactionID: "A1001", OrderedAt: orderedAt, Currency: "EUR"}
	rows := []outcomes.Row{{TransactionID: "A1001", Channel: "Direct", SourceMedium: "(direct) / (none)",
		Revenue: "59.90", Purchases: 1}}
	res := outcomes.Classify(order, rows, &outcomes.Answer{Currency: "EUR"}, orderedAt.Add(48*time.Hour), 0)
	fmt.Println(res.Outcome, res.Revenue, res.Currency, "final:", res.Final)
	// Output: direct 59.90 EUR final: false
}
