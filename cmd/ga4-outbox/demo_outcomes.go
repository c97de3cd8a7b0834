package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/api/option"

	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/dataapi"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// demoPropertyID is the GA4 property whose Data API the demo's emulator
// answers: the purchases sent to demoMeasurementID, each credited to the
// channel demo.Sessions gave its browser session.
const demoPropertyID = "123456789"

// demoLoseShare is the share of purchases the demo's GA4 never records,
// so that the capture rate is not a perfect 100 %.
const demoLoseShare = 0.03

// demoFetchOutcomes reads back what GA4 recorded and credited for the
// orders the demo delivered, before the report is built, so that the
// report's "Credited in GA4" section shows captured -> sent -> credited:
// the outcome import (`ga4-outbox outcomes fetch`) pointed at the
// emulator's Data API, without credentials.
func demoFetchOutcomes(ctx context.Context, w io.Writer, pool *pgxpool.Pool, emuURL string, since, until time.Time) error {
	src, err := dataapi.New(ctx, dataapi.Config{Endpoint: emuURL,
		Options: []option.ClientOption{option.WithoutAuthentication()}})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	sum, err := outcomes.Fetch(ctx, pool, src, outcomes.Options{Since: since, Until: until,
		Properties:           []outcomes.Property{{PropertyID: demoPropertyID}},
		DefaultMeasurementID: demoMeasurementID, Settle: -1}) // the emulator reports at once
	if err != nil {
		return fmt.Errorf("demo: read outcomes back: %w", err)
	}
	fmt.Fprintf(w, "Read back from GA4 (emulated Data API): %d orders in %d requests.\n", sum.LookedUp, sum.Requests)
	return nil
}

// demoOutcomeShown is how many differing orders the outcome check lists.
const demoOutcomeShown = 10

// demoOutcomeCheck prints whether ga4_outbox.outcomes holds, for every
// generated order, what the emulator's crediting rules say GA4 records
// (demo.ExpectedOutcomes), and fails the demo naming the first differing
// transaction ids otherwise.
func demoOutcomeCheck(ctx context.Context, w io.Writer, pool *pgxpool.Pool, want map[string]demo.GA4Outcome) error {
	got, err := demoOutcomes(ctx, pool)
	if err != nil {
		return err
	}
	diffs := demo.CheckOutcomes(want, got)
	if len(diffs) == 0 {
		n := demo.CountOutcomes(want)
		fmt.Fprintf(w, "Check: GA4's outcomes match the emulator's rules for the %d orders\n  (%d credited, %d direct, %d unassigned, %d not found).\n",
			len(want), n[reconcile.OutcomeCredited], n[reconcile.OutcomeDirect], n[reconcile.OutcomeUnassigned], n[reconcile.OutcomeNotFound])
		return nil
	}
	fmt.Fprintf(w, "\nCheck: GA4's outcomes differ from the emulator's rules for %d of the %d orders:\n", len(diffs), len(want))
	ids := make([]string, 0, demoOutcomeShown)
	for _, d := range diffs[:min(len(diffs), demoOutcomeShown)] {
		fmt.Fprintln(w, "  "+d)
		tid, _, _ := strings.Cut(d, ":")
		ids = append(ids, tid)
	}
	return exitError{code: 1, err: fmt.Errorf("demo: GA4's outcomes do not match the emulator's rules for %d %s, first at %s",
		len(diffs), plural(len(diffs), "order"), strings.Join(ids[:min(len(ids), 3)], ", "))}
}

// demoOutcomes reads the outcome and channel of every order the import
// stored for demoPropertyID.
func demoOutcomes(ctx context.Context, pool *pgxpool.Pool) (map[string]demo.GA4Outcome, error) {
	rows, err := pool.Query(ctx, `SELECT transaction_id, outcome, coalesce(channel, '') FROM ga4_outbox.outcomes
		WHERE property_id = $1`, demoPropertyID)
	if err != nil {
		return nil, fmt.Errorf("demo: read outcomes: %w", err)
	}
	got := map[string]demo.GA4Outcome{}
	var tid string
	var g demo.GA4Outcome
	_, err = pgx.ForEachRow(rows, []any{&tid, &g.Outcome, &g.Channel}, func() error {
		got[tid] = g
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("demo: read outcomes: %w", err)
	}
	return got, nil
}
