package outcomes_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	order := outcomes.Order{TransactionID: "A1", OrderedAt: now.Add(-80 * time.Hour), Currency: "EUR"}
	eur := &outcomes.Answer{Currency: "EUR"}
	row := func(channel string, purchases int64, revenue string) outcomes.Row {
		return outcomes.Row{TransactionID: "A1", Channel: channel, SourceMedium: "google / organic", Campaign: "(organic)",
			Revenue: revenue, Purchases: purchases}
	}
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name    string
		order   outcomes.Order
		rows    []outcomes.Row
		answer  *outcomes.Answer
		want    outcomes.Outcome
		detail  string
		revenue string
		count   *int64
		final   bool
	}{
		{name: "a real channel is credited", rows: []outcomes.Row{row("Organic Search", 1, "49.90")}, answer: eur,
			want: outcomes.Credited, revenue: "49.90", count: n(1), final: true},
		{name: "direct", rows: []outcomes.Row{row("Direct", 1, "10")}, answer: eur, want: outcomes.Direct, revenue: "10", count: n(1), final: true},
		{name: "unassigned", rows: []outcomes.Row{row("Unassigned", 1, "10")}, answer: eur, want: outcomes.Unassigned, revenue: "10", count: n(1), final: true},
		{name: "not set", rows: []outcomes.Row{row("(not set)", 1, "10")}, answer: eur, want: outcomes.NotSet, revenue: "10", count: n(1), final: true},
		{name: "an empty channel is not set", rows: []outcomes.Row{row("", 1, "10")}, answer: eur, want: outcomes.NotSet, revenue: "10", count: n(1), final: true},
		{name: "two purchases in one row are a duplicate", rows: []outcomes.Row{row("Email", 2, "20.00")}, answer: eur,
			want: outcomes.Duplicate, detail: "2 purchases in GA4 (Email: 2)", revenue: "20.00", count: n(2), final: true},
		{name: "purchases in two sessions are a duplicate, revenue summed exactly",
			rows: []outcomes.Row{row("Direct", 1, "0.1"), row("Paid Search", 1, "0.20")}, answer: eur,
			want: outcomes.Duplicate, detail: "2 purchases in GA4 (Direct: 1, Paid Search: 1)", revenue: "0.30", count: n(2), final: true},
		{name: "absent is not found", answer: eur, want: outcomes.NotFound, count: n(0), final: true},
		{name: "absent with rows folded into (other) is indeterminate", answer: &outcomes.Answer{DataLossFromOtherRow: true},
			want: outcomes.Indeterminate, detail: `not in GA4's answer, which may be missing rows: rows folded into "(other)"`, final: true},
		{name: "absent and thresholded is indeterminate", answer: &outcomes.Answer{Thresholded: true},
			want: outcomes.Indeterminate, detail: "not in GA4's answer, which may be missing rows: thresholding", final: true},
		{name: "absent and sampled is indeterminate", answer: &outcomes.Answer{Sampled: true, Thresholded: true},
			want: outcomes.Indeterminate, detail: "not in GA4's answer, which may be missing rows: thresholding, sampling", final: true},
		{name: "present despite thresholding keeps its channel", rows: []outcomes.Row{row("Referral", 1, "5")},
			answer: &outcomes.Answer{Currency: "EUR", Thresholded: true}, want: outcomes.Credited, revenue: "5", count: n(1), final: true},
		{name: "present and sampled says the figures are estimates", rows: []outcomes.Row{row("Referral", 1, "5")},
			answer: &outcomes.Answer{Currency: "EUR", Sampled: true}, want: outcomes.Credited,
			detail: "sampled: GA4's figures are estimates", revenue: "5", count: n(1), final: true},
		{name: "a row without purchase (a refund) is no purchase", rows: []outcomes.Row{row("Unassigned", 0, "-10")}, answer: eur,
			want: outcomes.NotFound, detail: "GA4 has the transaction id but no purchase event for it (a refund alone?)", count: n(0), final: true},
		{name: "rows of other ids are ignored", rows: []outcomes.Row{{TransactionID: "B2", Channel: "Email", Purchases: 1}}, answer: eur,
			want: outcomes.NotFound, count: n(0), final: true},
		{name: "another currency is said, not compared", rows: []outcomes.Row{row("Email", 1, "53.10")}, answer: &outcomes.Answer{Currency: "USD"},
			want: outcomes.Credited, detail: "GA4's revenue is in USD, the order in EUR: not compared", revenue: "53.10", count: n(1), final: true},
		{name: "a revenue that is not a number is said and left out", rows: []outcomes.Row{row("Email", 1, "1e3")}, answer: eur,
			want: outcomes.Credited, detail: `GA4's revenue "1e3" is not a decimal number`, count: n(1), final: true},
		{name: "younger than 72 h is provisional", order: outcomes.Order{TransactionID: "A1", OrderedAt: now.Add(-71 * time.Hour)},
			rows: []outcomes.Row{row("Email", 1, "1")}, answer: eur, want: outcomes.Credited, revenue: "1", count: n(1), final: false},
		{name: "exactly 72 h old is final", order: outcomes.Order{TransactionID: "A1", OrderedAt: now.Add(-72 * time.Hour)},
			answer: eur, want: outcomes.NotFound, count: n(0), final: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := order
			if tt.order.TransactionID != "" {
				o = tt.order
			}
			got := outcomes.Classify(o, tt.rows, tt.answer, now, 0)
			require.Equal(t, tt.want, got.Outcome)
			require.Equal(t, tt.detail, got.Detail)
			require.Equal(t, tt.revenue, got.Revenue)
			require.Equal(t, tt.count, got.Purchases)
			require.Equal(t, tt.final, got.Final)
			if tt.revenue != "" {
				require.Equal(t, tt.answer.Currency, got.Currency, "GA4's currency is kept")
			}
		})
	}
}

func TestClassifyDuplicateTakesTheChannelOfMostPurchases(t *testing.T) {
	t.Parallel()
	rows := []outcomes.Row{
		{TransactionID: "A1", Channel: "Direct", SourceMedium: "(direct) / (none)", Purchases: 1, Revenue: "10"},
		{TransactionID: "A1", Channel: "Email", SourceMedium: "newsletter / email", Campaign: "nov", Purchases: 2, Revenue: "20"},
	}
	got := outcomes.Classify(outcomes.Order{TransactionID: "A1"}, rows, nil, time.Unix(0, 0), time.Hour)
	require.Equal(t, outcomes.Duplicate, got.Outcome)
	require.Equal(t, []string{"Email", "newsletter / email", "nov"}, []string{got.Channel, got.SourceMedium, got.Campaign})
	require.Equal(t, "30", got.Revenue)
}

func TestChannelOutcome(t *testing.T) {
	t.Parallel()
	for channel, want := range map[string]outcomes.Outcome{
		"Direct": outcomes.Direct, "direct": outcomes.Direct, "Unassigned": outcomes.Unassigned, "(not set)": outcomes.NotSet,
		" ": outcomes.NotSet, "Organic Search": outcomes.Credited, "Cross-network": outcomes.Credited, "Paid Social": outcomes.Credited,
	} {
		require.Equal(t, want, outcomes.ChannelOutcome(channel), channel)
	}
}
