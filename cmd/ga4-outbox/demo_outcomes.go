package main

import (
	"context"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// demoPropertyID is the GA4 property whose Data API the demo's emulator
// answers: the purchases sent to demoMeasurementID, each credited to the
// channel demo.Sessions gave its browser session.
const demoPropertyID = "123456789"

// demoFetchOutcomes is where the demo reads back what GA4 recorded and
// credited for the orders it delivered: the outcome import
// (`ga4-outbox outcomes fetch`) pointed at the emulator's Data API
// (endpoint emuURL + "/", no credentials, property demoPropertyID,
// measurement id demoMeasurementID) for the orders of [since, until),
// writing ga4_outbox.outcomes before the report is built, so that the
// report's "Credited in GA4" section shows captured -> sent -> credited.
// Until the import is wired here it reads nothing, and the section says
// in one line that no outcomes were imported.
func demoFetchOutcomes(ctx context.Context, w io.Writer, pool *pgxpool.Pool, emuURL string, since, until time.Time) error {
	return nil
}
