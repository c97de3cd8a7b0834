package ga4test

import (
	"encoding/json"
	"fmt"
	"time"
)

// Faults says which requests the emulator fails and how. Shares are
// probabilities in [0, 1], drawn from the server's seeded generator; the
// Next counters fail exactly the next N requests first (drop, then 5xx,
// then 429, then GOAWAY), which is what deterministic tests want. Faults
// apply to /mp/collect and /debug/mp/collect. An endpoint that speaks
// HTTP/1.1 only is Options.HTTP1Only, set at start.
type Faults struct {
	// Share5xx answers that share of requests 500 (nothing recorded).
	Share5xx float64
	// Share429 answers that share of requests 429 with Retry-After.
	Share429 float64
	// RetryAfter is the Retry-After sent with 429. Defaults to 1s; it is
	// sent in whole seconds, rounded up.
	RetryAfter time.Duration
	// ShareDrop fails that share of requests without an answer after
	// reading them: over HTTP/1.1 the connection is closed, over HTTP/2 the
	// request's stream is reset (RST_STREAM INTERNAL_ERROR; the connection
	// and its other streams go on). The events are recorded as received,
	// the client sees an error.
	ShareDrop float64
	// ShareGoAway answers that share of requests 204 (events accepted) and
	// then ends their connection gracefully: over HTTP/2 the server sends
	// GOAWAY, finishes the streams in flight and closes; over HTTP/1.1 it
	// answers "Connection: close" and closes. A client must open a new
	// connection for its next requests, as when Google's front ends
	// recycle connections.
	ShareGoAway float64
	// Latency is added to every request before answering.
	Latency time.Duration
	// Jitter adds a random extra latency in [0, Jitter).
	Jitter time.Duration
	// Next5xx, Next429, NextDrop and NextGoAway fail exactly the next N
	// requests.
	Next5xx, Next429, NextDrop, NextGoAway int

	// Report faults apply to the Data API (runReport, checkCompatibility),
	// not to /mp/collect; see dataapi.go.

	// ReportLoseShare is the share of purchases GA4 never reports (not
	// found), chosen by transaction id and Options.Seed: the same ids are
	// lost at every request and every run.
	ReportLoseShare float64
	// ReportOtherShare is the share of purchases whose dimensions are all
	// folded into one "(other)" row, chosen like ReportLoseShare (another
	// draw); a report that folds any sets metadata.dataLossFromOtherRow.
	ReportOtherShare float64
	// ReportThresholding sets metadata.subjectToThresholding on every
	// report (no row is withheld).
	ReportThresholding bool
	// ReportNext429 answers exactly the next N Data API requests 429
	// RESOURCE_EXHAUSTED in Google's error envelope.
	ReportNext429 int
}

// Fault kinds as recorded in RequestLog.Fault.
const (
	Fault5xx  = "5xx"
	Fault429  = "429"
	FaultDrop = "drop"
	// FaultGoAway is a request answered 204 whose connection the server
	// then shut down (GOAWAY over HTTP/2, Connection: close over HTTP/1.1).
	FaultGoAway = "goaway"
)

func (f *Faults) validate() error {
	for _, s := range []float64{f.Share5xx, f.Share429, f.ShareDrop, f.ShareGoAway, f.ReportLoseShare, f.ReportOtherShare} {
		if s < 0 || s > 1 {
			return fmt.Errorf("fault shares must be between 0 and 1, got %v", s)
		}
	}
	if f.shares() > 1 {
		return fmt.Errorf("fault shares add up to more than 1")
	}
	if f.Latency < 0 || f.Jitter < 0 || f.RetryAfter < 0 || f.Next5xx < 0 || f.Next429 < 0 || f.NextDrop < 0 || f.NextGoAway < 0 || f.ReportNext429 < 0 {
		return fmt.Errorf("fault durations and counters must not be negative")
	}
	return nil
}

// shares is the share of requests that some fault fails.
func (f *Faults) shares() float64 { return f.ShareDrop + f.Share5xx + f.Share429 + f.ShareGoAway }

// faultsJSON is Faults over HTTP, durations as strings ("250ms").
type faultsJSON struct {
	Share5xx    float64 `json:"share_5xx"`
	Share429    float64 `json:"share_429"`
	RetryAfter  string  `json:"retry_after,omitempty"`
	ShareDrop   float64 `json:"share_drop"`
	ShareGoAway float64 `json:"share_goaway"`
	Latency     string  `json:"latency,omitempty"`
	Jitter      string  `json:"jitter,omitempty"`
	Next5xx     int     `json:"next_5xx"`
	Next429     int     `json:"next_429"`
	NextDrop    int     `json:"next_drop"`
	NextGoAway  int     `json:"next_goaway"`

	ReportLoseShare    float64 `json:"report_lose_share"`
	ReportOtherShare   float64 `json:"report_other_share"`
	ReportThresholding bool    `json:"report_thresholding"`
	ReportNext429      int     `json:"report_next_429"`
}

// MarshalJSON writes durations as strings.
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Share5xx: f.Share5xx, Share429: f.Share429, RetryAfter: f.RetryAfter.String(),
		ShareDrop: f.ShareDrop, ShareGoAway: f.ShareGoAway, Latency: f.Latency.String(), Jitter: f.Jitter.String(),
		Next5xx: f.Next5xx, Next429: f.Next429, NextDrop: f.NextDrop, NextGoAway: f.NextGoAway,
		ReportLoseShare: f.ReportLoseShare, ReportOtherShare: f.ReportOtherShare,
		ReportThresholding: f.ReportThresholding, ReportNext429: f.ReportNext429,
	})
}

// UnmarshalJSON reads durations as strings ("250ms", "1s").
func (f *Faults) UnmarshalJSON(b []byte) error {
	var j faultsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	out := Faults{Share5xx: j.Share5xx, Share429: j.Share429, ShareDrop: j.ShareDrop, ShareGoAway: j.ShareGoAway,
		Next5xx: j.Next5xx, Next429: j.Next429, NextDrop: j.NextDrop, NextGoAway: j.NextGoAway,
		ReportLoseShare: j.ReportLoseShare, ReportOtherShare: j.ReportOtherShare,
		ReportThresholding: j.ReportThresholding, ReportNext429: j.ReportNext429}
	for _, d := range []struct {
		s   string
		dst *time.Duration
		key string
	}{{j.RetryAfter, &out.RetryAfter, "retry_after"}, {j.Latency, &out.Latency, "latency"}, {j.Jitter, &out.Jitter, "jitter"}} {
		if d.s == "" {
			continue
		}
		v, err := time.ParseDuration(d.s)
		if err != nil {
			return fmt.Errorf("%s: %q is not a duration (e.g. 250ms)", d.key, d.s)
		}
		*d.dst = v
	}
	*f = out
	return nil
}
