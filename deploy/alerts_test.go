package deploy_test

import (
	"context"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
	"github.com/ga4-outbox/ga4-outbox/internal/delivery"
	"github.com/ga4-outbox/ga4-outbox/internal/poller"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// ruleFile is a Prometheus rule file, as far as the test reads it.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// nameRecorder is a prometheus.Registerer that only records the metric
// names of what is registered on it.
type nameRecorder map[string]bool

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (n nameRecorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			n[m[1]] = true
		}
	}
	return nil
}

func (n nameRecorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = n.Register(c)
	}
}

func (n nameRecorder) Unregister(prometheus.Collector) bool { return false }

// registerPoller registers the metrics of the sidecar's poller and its
// sender on reg, as `run` does (no database is reached: the pool connects
// lazily, and a scrape of the row gauges reports the error).
func registerPoller(t *testing.T, reg prometheus.Registerer) {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/none")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	cfg := config.Default()
	cfg.GA4.MeasurementID, cfg.GA4.APISecret = "G-TEST123", "secret"
	sender, err := delivery.FromConfig(cfg, nil, reg)
	require.NoError(t, err)
	_, err = poller.New(pool, sender, &poller.Config{Registerer: reg})
	require.NoError(t, err)
}

// pollerMetrics lists the metric names the sidecar's poller and its
// sender register.
func pollerMetrics(t *testing.T) nameRecorder {
	t.Helper()
	names := nameRecorder{}
	registerPoller(t, names)
	return names
}

// sidecarMetrics lists every ga4_outbox metric `run` serves: the poller's,
// the sender's and the nightly report's (reconcile.NewMetrics).
func sidecarMetrics(t *testing.T) nameRecorder {
	t.Helper()
	names := pollerMetrics(t)
	names.MustRegister(reconcile.NewMetrics().Collectors()...)
	return names
}

// seriesMetric returns the metric a series name belongs to: a histogram's
// _bucket, _sum and _count series belong to the histogram.
func seriesMetric(series string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		series = strings.TrimSuffix(series, suffix)
	}
	return series
}

// TestOperationsListsEveryMetric: the metrics table of docs/OPERATIONS.md
// names exactly the metrics the poller registers.
func TestOperationsListsEveryMetric(t *testing.T) {
	doc, err := os.ReadFile("../docs/OPERATIONS.md")
	require.NoError(t, err)
	var listed []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(ga4_outbox_[a-z_]+)").FindAllStringSubmatch(string(doc), -1) {
		listed = append(listed, m[1])
	}
	var registered []string
	for name := range pollerMetrics(t) {
		registered = append(registered, name)
	}
	sort.Strings(listed)
	sort.Strings(registered)
	require.Equal(t, registered, listed)
}

// TestAlertRules: every rule of deploy/prometheus/alerts.yaml reads only
// metrics the sidecar registers, waits a Prometheus duration, has a
// severity and says what happened and what to do.
func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile("prometheus/alerts.yaml")
	require.NoError(t, err)
	var rf ruleFile
	require.NoError(t, yaml.Unmarshal(raw, &rf))
	require.Len(t, rf.Groups, 1)
	names := sidecarMetrics(t)
	metric := regexp.MustCompile(`ga4_outbox_[a-z_]+`)
	seen := map[string]bool{}
	for _, r := range rf.Groups[0].Rules {
		t.Run(r.Alert, func(t *testing.T) {
			require.NotEmpty(t, r.Alert)
			require.False(t, seen[r.Alert], "alert names are unique")
			seen[r.Alert] = true
			used := metric.FindAllString(r.Expr, -1)
			require.NotEmpty(t, used, "the expression reads a ga4_outbox metric")
			for _, m := range used {
				require.True(t, names[seriesMetric(m)], "%s is not a metric the sidecar registers", m)
			}
			require.Equal(t, strings.Count(r.Expr, "("), strings.Count(r.Expr, ")"), "balanced parentheses")
			if r.For != "" {
				_, err := time.ParseDuration(r.For)
				require.NoError(t, err, "for")
			}
			require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"])
			require.NotEmpty(t, r.Annotations["summary"])
			require.NotEmpty(t, r.Annotations["description"])
		})
	}
	require.NotEmpty(t, seen)
}
