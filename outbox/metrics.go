package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

const metricsNamespace = "ga4_outbox"

// metrics are the poller's Prometheus metrics. Without a Registerer they
// still count, unseen.
type metrics struct {
	delivered, retried, leaseLost, retained, listenReconnects prometheus.Counter
	failed, skipped                                           *prometheus.CounterVec
	sendDuration, lag, batchSize                              prometheus.Histogram
}

func newMetrics(db *pgxpool.Pool, reg prometheus.Registerer) (*metrics, error) {
	counter := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricsNamespace, Name: name, Help: help})
	}
	m := &metrics{
		delivered:        counter("delivered_total", "Rows delivered (GA answered 2xx)."),
		retried:          counter("retried_total", "Row sends that got a retryable error and were scheduled again."),
		leaseLost:        counter("lease_lost_total", "Rows whose results were not recorded because their lease had expired and another worker claimed them."),
		retained:         counter("retention_deleted_total", "Finished rows deleted by retention."),
		listenReconnects: counter("listen_reconnects_total", "Times the LISTEN connection was lost and reopened."),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "failed_total",
			Help: "Rows failed, by reason (rejected, max_attempts)."}, []string{"reason"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "skipped_total",
			Help: "Rows skipped without sending, by reason."}, []string{"reason"}),
		sendDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "send_duration_seconds",
			Help: "Time to send one claimed batch through the Sender.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "delivery_lag_seconds",
			Help: "Event time (in-session time, else business time) to delivery.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 14)}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: metricsNamespace, Name: "claimed_batch_size",
			Help: "Rows per claimed batch.", Buckets: prometheus.ExponentialBuckets(1, 2, 14)}),
	}
	if reg == nil {
		return m, nil
	}
	cs := []prometheus.Collector{m.delivered, m.retried, m.leaseLost, m.retained, m.listenReconnects,
		m.failed, m.skipped, m.sendDuration, m.lag, m.batchSize, &rowsCollector{db: db}}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var (
	rowsDesc = prometheus.NewDesc(metricsNamespace+"_rows", "Outbox rows by status (queried on scrape).",
		[]string{"status"}, nil)
	oldestDesc = prometheus.NewDesc(metricsNamespace+"_oldest_pending_age_seconds",
		"Age of the oldest pending row (0 when none is pending).", nil, nil)
	scrapeErrDesc = prometheus.NewDesc(metricsNamespace+"_rows_scrape_error",
		"1 when the last scrape could not query the outbox.", nil, nil)
)

// rowsCollector queries row counts by status and the oldest pending row's
// age on each scrape (one statement, bounded by a 5 s timeout; it counts the
// whole table, so keep retention on for very large outboxes).
type rowsCollector struct{ db *pgxpool.Pool }

func (c *rowsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- rowsDesc
	ch <- oldestDesc
	ch <- scrapeErrDesc
}

func (c *rowsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, oldest, err := c.query(ctx)
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrDesc, prometheus.GaugeValue, failed)
	if err != nil {
		return
	}
	for _, s := range []string{StatusPending, StatusDelivered, StatusFailed, StatusSkipped} {
		ch <- prometheus.MustNewConstMetric(rowsDesc, prometheus.GaugeValue, float64(counts[s]), s)
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, oldest)
}

func (c *rowsCollector) query(ctx context.Context) (map[string]int64, float64, error) {
	rows, err := c.db.Query(ctx, sqlRowsByStatus)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	counts := map[string]int64{}
	var oldest float64
	for rows.Next() {
		var status string
		var n int64
		var age float64
		if err := rows.Scan(&status, &n, &age); err != nil {
			return nil, 0, err
		}
		counts[status] = n
		if status == StatusPending {
			oldest = age
		}
	}
	if rows.Err() != nil {
		return nil, 0, rows.Err()
	}
	return counts, oldest, nil
}
