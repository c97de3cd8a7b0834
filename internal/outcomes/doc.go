// Package outcomes reads back what GA4 recorded and credited for each
// purchase, and stores it per order in ga4_outbox.outcomes, where the
// report's "Credited in GA4" section reads it (docs/OUTCOMES.md).
//
// # Sources
//
// A Source answers, for one property, a date range and a list of
// transaction ids, the rows GA4 has for them (session channel group,
// source / medium, campaign, purchase revenue, purchases) and the flags
// that say whether the answer can be trusted (rows folded into "(other)",
// thresholding, sampling) with the quota left. Package dataapi is the
// GA4 Data API source; a BigQuery export source can be added behind the
// same interface.
//
// # Outcomes
//
// Classify, a pure function, turns one order's rows into its Outcome:
// credited, direct, unassigned, not_set, duplicate, not_found or
// indeterminate, with GA4's revenue and currency. An outcome is
// provisional until the order is 72 h old (GA4's data changes for 24-48
// h), then final.
//
// # Fetching
//
// Fetch selects the purchases of a window whose outcome is missing or
// provisional, sent or not, at least Options.Settle (24 h) old, since
// GA4's daily data is about 12 h late, asks the Source per property and day in lists
// of bounded size, and upserts each answer's outcomes in one statement:
//
//	sum, err := outcomes.Fetch(ctx, pool, src, outcomes.Options{
//		Properties: []outcomes.Property{{PropertyID: "123456789"}},
//	})
//
// A spent quota stops the property early; what was fetched stays and the
// next Fetch picks up the rest. FetchLocked is Fetch under an advisory
// lock, for the daily job of several replicas.
package outcomes
