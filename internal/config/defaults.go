package config

import (
	"cmp"
	"time"
)

func (c *Config) applyDefaults() {
	c.Database.URL = cmp.Or(c.Database.URL, "postgres://postgres@127.0.0.1:5432/postgres")
	c.Database.MaxConns = cmp.Or(c.Database.MaxConns, 8)

	c.GA4.Region = cmp.Or(c.GA4.Region, "global")
	c.GA4.Validation = cmp.Or(c.GA4.Validation, "relaxed")
	c.GA4.Timeout = cmp.Or(c.GA4.Timeout, Duration(10*time.Second))

	p := &c.Poller
	p.BatchSize = cmp.Or(p.BatchSize, 500)
	p.Concurrency = cmp.Or(p.Concurrency, 32)
	p.Lease = cmp.Or(p.Lease, Duration(60*time.Second))
	p.MaxAttempts = cmp.Or(p.MaxAttempts, 12)
	p.BackoffInitial = cmp.Or(p.BackoffInitial, Duration(5*time.Second))
	p.BackoffMax = cmp.Or(p.BackoffMax, Duration(time.Hour))
	p.Schedule = cmp.Or(p.Schedule, "@every 10s")
	if p.Listen == nil {
		on := true
		p.Listen = &on
	}
	p.MissingClientID = cmp.Or(p.MissingClientID, "skip")
	p.UnknownConsent = cmp.Or(p.UnknownConsent, "send")
	p.ShutdownGrace = cmp.Or(p.ShutdownGrace, Duration(10*time.Second))

	r := &c.Reconcile
	r.Schedule = cmp.Or(r.Schedule, "CRON_TZ=UTC 0 2 * * *")
	r.OutputDir = cmp.Or(r.OutputDir, "./reports")
	if len(r.Formats) == 0 {
		r.Formats = []string{"markdown", "json"}
	}
	r.StuckAfter = cmp.Or(r.StuckAfter, Duration(time.Hour))
	r.Examples = cmp.Or(r.Examples, 5)

	t := &c.Retention
	t.DeliveredAfter = cmp.Or(t.DeliveredAfter, Duration(30*24*time.Hour))
	t.SkippedAfter = cmp.Or(t.SkippedAfter, Duration(90*24*time.Hour))
	t.Schedule = cmp.Or(t.Schedule, "@hourly")
	t.BatchSize = cmp.Or(t.BatchSize, 1000)

	c.Metrics.Addr = cmp.Or(c.Metrics.Addr, "127.0.0.1:9464")
}
