package deploy_test

import (
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// significantDigits counts the significant digits of a number as
// Prometheus writes it ("0.03" 1, "14400" 3, "7.290000000000001" 16).
func significantDigits(s string) int {
	mantissa, _, _ := strings.Cut(strings.ToLower(strings.TrimLeft(s, "+-")), "e")
	digits := strings.Trim(strings.ReplaceAll(mantissa, ".", ""), "0")
	return len(digits)
}

// TestHistogramBuckets: the le labels of the sidecar's histograms, as
// /metrics writes them, are the round numbers an operator reads on a
// dashboard, not float noise (ExponentialBuckets(0.01, 3, 14) printed
// le="7.290000000000001"). The delivery lag's bounds have at most 3
// significant digits; the powers of two of send_duration_seconds (1.024 s
// ... 8.192 s) and claimed_batch_rows (up to 8192) at most 4.
func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	registerPoller(t, reg)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)

	bounds := map[string][]string{}
	for _, m := range regexp.MustCompile(`(?m)^(ga4_outbox_\w+)_bucket\{le="([^"]+)"\}`).FindAllStringSubmatch(rec.Body.String(), -1) {
		if m[2] != "+Inf" {
			bounds[m[1]] = append(bounds[m[1]], m[2])
		}
	}
	require.Len(t, bounds, 3, "histograms: %v", bounds)
	require.Equal(t, []string{"0.01", "0.03", "0.1", "0.3", "1", "3", "10", "30", "60", "300", "900", "3600", "14400", "86400"},
		bounds["ga4_outbox_delivery_lag_seconds"])
	for name, les := range bounds {
		limit := 4
		if name == "ga4_outbox_delivery_lag_seconds" {
			limit = 3
		}
		for _, le := range les {
			require.LessOrEqual(t, significantDigits(le), limit, "%s le=%q", name, le)
		}
	}
}

func TestSignificantDigits(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int{"0.01": 1, "0.03": 1, "14400": 3, "86400": 3, "1.024": 4, "8192": 4,
		"7.290000000000001": 16, "1e+06": 1, "2.5e-05": 2} {
		require.Equal(t, want, significantDigits(s), s)
	}
}

// TestReportListsReportMetrics: docs/REPORT.md's metrics table names
// exactly the nightly report's metrics (docs/OPERATIONS.md lists the
// poller's).
func TestReportListsReportMetrics(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/REPORT.md")
	require.NoError(t, err)
	var listed, registered []string
	for _, m := range regexp.MustCompile("(?m)^\\| `(ga4_outbox_[a-z_]+)").FindAllStringSubmatch(string(doc), -1) {
		listed = append(listed, m[1])
	}
	names := nameRecorder{}
	names.MustRegister(reconcile.NewMetrics().Collectors()...)
	for name := range names {
		registered = append(registered, name)
	}
	sort.Strings(listed)
	sort.Strings(registered)
	require.Equal(t, registered, listed)
}
