package demo

import (
	"fmt"
	"slices"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// GA4Outcome is what GA4 records for one order: the outcome the import
// stores (reconcile.OutcomeCredited, ...) and the channel group GA4
// credited, empty when GA4 has no purchase.
type GA4Outcome struct {
	Outcome string
	Channel string
}

func (g GA4Outcome) String() string {
	if g.Channel == "" {
		return g.Outcome
	}
	return fmt.Sprintf("%s (%s)", g.Outcome, g.Channel)
}

// ExpectedOutcomes says, per transaction id, what the emulator's Data API
// must answer for the generated orders once the sidecar has delivered
// them, by the emulator's documented crediting rules (package ga4test):
// an order sent with its session id in time is credited to the channel
// Sessions seeded for it (direct when that channel is Direct); one sent
// without a session id is unassigned; one sent late is direct; one never
// sent (consent denied, invalid, no client id, expired) or that lost
// reports lost (ga4test.Server.ReportLoses) is not found.
func ExpectedOutcomes(orders []Order, sessions map[string]ga4test.Channel, lost func(transactionID string) bool) map[string]GA4Outcome {
	out := make(map[string]GA4Outcome, len(orders))
	for i := range orders {
		o := &orders[i]
		var ch ga4test.Channel
		switch o.Bucket {
		case reconcile.BucketAttributable:
			ch = sessions[o.Conversion.SessionID]
		case reconcile.BucketMissingSessionID:
			ch = ga4test.ChannelUnassigned
		case reconcile.BucketLate:
			ch = ga4test.ChannelDirect
		}
		tid := o.Conversion.TransactionID
		if ch.Group == "" || lost(tid) {
			out[tid] = GA4Outcome{Outcome: reconcile.OutcomeNotFound}
			continue
		}
		out[tid] = GA4Outcome{Outcome: channelOutcome(ch.Group), Channel: ch.Group}
	}
	return out
}

// channelOutcome is the outcome of a purchase credited to group.
func channelOutcome(group string) string {
	switch group {
	case ga4test.ChannelDirect.Group:
		return reconcile.OutcomeDirect
	case ga4test.ChannelUnassigned.Group:
		return reconcile.OutcomeUnassigned
	}
	return reconcile.OutcomeCredited
}

// CheckOutcomes compares what GA4 answered (got, per transaction id, read
// back from ga4_outbox.outcomes) with want and returns one line per
// differing order, in transaction id order (nil when they agree). An order
// missing from got was never looked up.
func CheckOutcomes(want, got map[string]GA4Outcome) []string {
	ids := make([]string, 0, len(want))
	for tid := range want {
		ids = append(ids, tid)
	}
	for tid := range got {
		if _, ok := want[tid]; !ok {
			ids = append(ids, tid)
		}
	}
	slices.Sort(ids)
	var diffs []string
	for _, tid := range ids {
		w, wok := want[tid]
		g, gok := got[tid]
		switch {
		case !gok:
			diffs = append(diffs, fmt.Sprintf("%s: expected %s, never looked up", tid, w))
		case !wok:
			diffs = append(diffs, fmt.Sprintf("%s: not a generated order, GA4 says %s", tid, g))
		case w != g:
			diffs = append(diffs, fmt.Sprintf("%s: expected %s, GA4 says %s", tid, w, g))
		}
	}
	return diffs
}

// CountOutcomes counts the orders per outcome.
func CountOutcomes(m map[string]GA4Outcome) map[string]int {
	out := map[string]int{}
	for _, g := range m {
		out[g.Outcome]++
	}
	return out
}
