package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// emulatorDataAPI is the emulator's Data API flags that are not Options.
type emulatorDataAPI struct {
	sessions string // --sessions FILE
}

// dataAPIFlags adds the Data API's flags: --property, --currency,
// --sessions and the report faults.
func dataAPIFlags(fs *flag.FlagSet, opts *ga4test.Options) *emulatorDataAPI {
	d := &emulatorDataAPI{}
	fs.Func("property", "`ID=G-XXXX[,G-YYYY]`: the Data API's property ID reports these measurement ids (repeatable; default: any property reports every purchase)", func(v string) error {
		id, mids, ok := strings.Cut(v, "=")
		if !ok || id == "" || mids == "" {
			return errors.New("want ID=G-XXXX[,G-YYYY]")
		}
		if opts.Properties == nil {
			opts.Properties = map[string][]string{}
		}
		opts.Properties[id] = append(opts.Properties[id], strings.Split(mids, ",")...)
		return nil
	})
	fs.StringVar(&opts.Currency, "currency", "USD", "the properties' currency: the Data API converts revenue into it")
	fs.StringVar(&d.sessions, "sessions", "", "JSON `FILE` of seeded sessions: {\"<session id>\": {\"group\": \"Organic Search\", \"source_medium\": \"google / organic\", \"campaign\": \"(organic)\"}}")
	fs.Float64Var(&opts.Faults.ReportLoseShare, "report-lose-share", 0, "share of purchases the Data API never reports, chosen by transaction id (0..1)")
	fs.Float64Var(&opts.Faults.ReportOtherShare, "report-other-share", 0, "share of purchases the Data API folds into an (other) row (0..1)")
	fs.BoolVar(&opts.Faults.ReportThresholding, "report-thresholding", false, "the Data API flags every report subjectToThresholding")
	return d
}

// seed seeds srv with the sessions of --sessions.
func (d *emulatorDataAPI) seed(srv *ga4test.Server) error {
	if d.sessions == "" {
		return nil
	}
	b, err := os.ReadFile(d.sessions)
	if err != nil {
		return usageError{fmt.Errorf("--sessions: %w", err)}
	}
	m, err := ga4test.ParseSessions(b)
	if err == nil {
		err = srv.SeedSessions(m)
	}
	if err != nil {
		return usageError{fmt.Errorf("--sessions %s: %w", d.sessions, err)}
	}
	return nil
}
