package poller

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

const metricsNamespace = "ga4_outbox"

// The reasons of failed rows and of skipped rows, in the order of their
// constants in the outbox package.
var (
	failedReasons  = []string{outbox.ReasonRejected, outbox.ReasonMaxAttempts}
	skippedReasons = []string{outbox.ReasonConsentDenied, outbox.ReasonInvalid, outbox.ReasonExpired,
		outbox.ReasonMissingClientID, outbox.ReasonUnknownProperty}
)

// metrics are the poller's Prometheus metrics. Without a Registerer they
// still count, unseen.
type metrics struct {
	delivered, retried, leaseLost, leaseExtended, retained, listenReconnects prometheus.Counter
	failed, skipped                                                          *prometheus.CounterVec
	sendDuration, lag, batchSize                                             prometheus.Histogram
	claimDuration                                                            *prometheus.HistogramVec
}

// How a claim started (the claim_duration_seconds label; cursor.go).
var claimStarts = []string{"cursor", "check", "head"}

func newMetrics(db *pgxpool.Pool, reg prometheus.Registerer, now func() time.Time) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help})
	}
	m := &metrics{
		delivered:        counter("delivered_total", "Rows delivered (GA answered 2xx)."),
		retried:          counter("retried_total", "Row sends that got a retryable error and were scheduled again."),
		leaseLost:        counter("lease_lost_total", "Rows whose results were not recorded because their lease had expired and another worker claimed them."),
		leaseExtended:    counter("lease_extensions_total", "Times the lease of a batch still being sent was extended."),
		retained:         counter("retention_deleted_total", "Finished rows deleted by retention."),
		listenReconnects: counter("listen_reconnects_total", "Times the LISTEN connection was lost and reopened."),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "failed_total",
			Help: "Rows failed, by reason (rejected, max_attempts)."}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "skipped_total",
			Help: "Rows skipped without sending, by reason."}, []string{"reason"}),
		sendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "send_duration_seconds",
			Help: "Time to send one claimed batch through the Sender.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "delivery_lag_seconds",
			Help: "Event time (in-session time, else business time) to delivery.", Buckets: lagBuckets}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "claimed_batch_rows",
			Help: "Rows per claimed batch.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
		claimDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "claim_duration_seconds",
			Help:    "Time to claim a batch, by where the claim started: its cursor, its cursor after a check for rows behind it, or the head of the claim index.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"start"}),
	}
	// Every reason exists at 0 from the start, so that increase() sees the
	// first failure after a restart.
	for _, r := range failedReasons {
		m.failed.WithLabelValues(r)
	}
	for _, r := range skippedReasons {
		m.skipped.WithLabelValues(r)
	}
	for _, st := range claimStarts {
		m.claimDuration.WithLabelValues(st)
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.delivered, m.retried, m.leaseLost, m.leaseExtended, m.retained, m.listenReconnects,
		m.failed, m.skipped, m.sendDuration, m.lag, m.batchSize, m.claimDuration, &rowsCollector{db: db, now: now}}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// lagBuckets are the delivery lag histogram's bounds in seconds: from 10 ms
// to GA4's 24 h session limit, through the 15 min of the PendingTooOld
// alert. Written out, as ExponentialBuckets' products print with float
// noise in the le labels (7.290000000000001).
var lagBuckets = []float64{0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 60, 300, 900, 3600, 14400, 86400}

var (
	rowsDesc = prometheus.NewDesc(metricsNamespace+"_rows", "Outbox rows by status.",
		[]string{"status"}, nil)
	oldestDesc = prometheus.NewDesc(metricsNamespace+"_oldest_pending_age_seconds",
		"Age of the oldest pending row, from the start of the minute it was created in (0 when none is pending).", nil, nil)
	scrapeErrDesc = prometheus.NewDesc(metricsNamespace+"_rows_scrape_error",
		"1 when the last scrape could not query the outbox.", nil, nil)
	deadDesc = prometheus.NewDesc(metricsNamespace+"_dead_tuples_ratio",
		"Share of the outbox table's row versions that are dead and not yet removed by vacuum (statistics).", nil, nil)
	snapshotDesc = prometheus.NewDesc(metricsNamespace+"_oldest_snapshot_age_seconds",
		"Age of the oldest transaction of the database that holds back vacuum (open snapshot, transaction id or prepared transaction).", nil, nil)
	slotDesc = prometheus.NewDesc(metricsNamespace+"_replication_slot_xmin_age",
		"Transaction ids since the oldest xmin a replication slot holds back (0 when none).", nil, nil)
)

// rowsCollector reports row counts by status, the oldest pending row's
// age and what holds vacuum back (sqlVacuumHealth). The counts are exact
// and read from ga4_outbox.row_counts (counts.go), not from the rows, so a
// scrape costs the same however many row versions vacuum has not removed;
// the oldest pending age is counted from the start of the minute its row
// was created in. Each query is bounded by a 5 s timeout.
type rowsCollector struct {
	db  *pgxpool.Pool
	now func() time.Time
}

func (c *rowsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rowsDesc
	ch <- oldestDesc
	ch <- scrapeErrDesc
	ch <- deadDesc
	ch <- snapshotDesc
	ch <- slotDesc
}

func (c *rowsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := readCounts(ctx, c.db)
	var dead, snapshotAge, slotAge float64
	if err == nil {
		err = c.db.QueryRow(ctx, sqlVacuumHealth).Scan(&dead, &snapshotAge, &slotAge)
	}
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, failed)
	if err != nil {
		return
	}
	for _, s := range []string{outbox.StatusPending, outbox.StatusDelivered, outbox.StatusFailed, outbox.StatusSkipped} {
		ch <- prometheus.MustNewConstMetric(rowsDesc, prometheus.GaugeValue, float64(counts.byStatus(s)), s)
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, counts.oldestAge(c.now()).Seconds())
	ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, dead)
	ch <- prometheus.MustNewConstMetric(snapshotDesc, prometheus.GaugeValue, snapshotAge)
	ch <- prometheus.MustNewConstMetric(slotDesc, prometheus.GaugeValue, slotAge)
}
