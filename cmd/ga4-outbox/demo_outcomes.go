package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/api/option"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/dataapi"
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
		DefaultMeasurementID: demoMeasurementID})
	if err != nil {
		return fmt.Errorf("demo: read outcomes back: %w", err)
	}
	fmt.Fprintf(w, "Read back from GA4 (emulated Data API): %d orders in %d requests.\n", sum.LookedUp, sum.Requests)
	return nil
}
