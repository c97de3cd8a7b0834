package config

import "time"

// Default returns the configuration used when nothing is configured; the
// sample config.yaml shows the same values. The file is decoded over it, so
// a key the file leaves out keeps its default, while a key the file sets
// (even to zero) is taken as written and validated.
func Default() *Config {
	listen := true
	return &Config{
		Database: Database{URL: "postgres://postgres@127.0.0.1:5432/postgres", MaxConns: 8},
		GA4: GA4{
			Region:         "global",
			Validation:     "relaxed",
			Timeout:        Duration(10 * time.Second),
			MaxConnections: 16,
		},
		Poller: Poller{
			BatchSize:       500,
			Concurrency:     1024,
			InFlightBatches: 8,
			Lease:           Duration(time.Minute),
			MaxAttempts:     12,
			BackoffInitial:  Duration(5 * time.Second),
			BackoffMax:      Duration(time.Hour),
			Schedule:        "@every 10s",
			Listen:          &listen,
			MissingClientID: "skip",
			UnknownConsent:  "send",
			ShutdownGrace:   Duration(10 * time.Second),
		},
		Reconcile: Reconcile{
			Schedule:   "CRON_TZ=UTC 0 2 * * *",
			OutputDir:  "./reports",
			Formats:    []string{"markdown", "json"},
			StuckAfter: Duration(time.Hour),
			Examples:   5,
		},
		Retention: Retention{
			DeliveredAfter: Duration(30 * 24 * time.Hour),
			SkippedAfter:   Duration(90 * 24 * time.Hour),
			Schedule:       "@hourly",
			BatchSize:      1000,
		},
		Metrics:  Metrics{Addr: "127.0.0.1:9464"},
		Outcomes: defaultOutcomes(),
	}
}
