package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// logLines receives the run command's JSON log lines through a pipe.
func logLines(t *testing.T) (io.Writer, <-chan map[string]any) {
	t.Helper()
	pr, pw := io.Pipe()
	lines := make(chan map[string]any, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			t.Log(sc.Text())
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
	}()
	t.Cleanup(func() { pw.Close() })
	return pw, lines
}

// waitLog returns the first log line with msg, failing after the deadline.
func waitLog(t *testing.T, ctx context.Context, lines <-chan map[string]any, msg string) map[string]any {
	t.Helper()
	for {
		select {
		case m, ok := <-lines:
			require.True(t, ok, "log closed before %q", msg)
			if m["msg"] == msg {
				return m
			}
		case <-ctx.Done():
			t.Fatalf("no %q log line", msg)
		}
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestRunDeliversServesProbesAndStops(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	emu := ga4test.Start(t, &ga4test.Options{Secrets: map[string][]string{"G-RUNTEST1": {"run-secret-value"}}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	stderr, lines := logLines(t)
	var stdout strings.Builder
	e := &env{args: []string{"run"}, stdin: strings.NewReader(""), stdout: &stdout, stderr: stderr,
		getenv: func(k string) string {
			return map[string]string{"DATABASE_URL": dbURL, "GA4_MEASUREMENT_ID": "G-RUNTEST1",
				"GA4_API_SECRET": "run-secret-value", "GA4_ENDPOINT": emu.URL,
				"GA4_OUTBOX_METRICS_ADDR": "127.0.0.1:0", "GA4_OUTBOX_REPORT_DIR": t.TempDir()}[k]
		}}
	done := make(chan error, 1)
	go func() { done <- run(runCtx, e) }()
	addr := waitLog(t, ctx, lines, "metrics server listening")["addr"].(string)
	base := "http://" + addr

	pool, err := dbconn.OpenPool(ctx, dbURL, 1)
	require.NoError(t, err)
	defer pool.Close()
	session := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	click := session.Add(5 * time.Minute)
	_, err = outbox.Enqueue(ctx, pool, outbox.Conversion{EventName: "purchase", TransactionID: "RUN-1",
		Value: "42.50", Currency: "EUR", ClientID: "111.222", SessionID: itoa(session.Unix()),
		SessionEventAt: click, Source: "run_test"})
	require.NoError(t, err)

	events, err := emu.WaitAccepted(ctx, 1)
	require.NoError(t, err, "the running sidecar must deliver the enqueued purchase")
	require.Equal(t, "111.222", events[0].ClientID)
	require.Equal(t, "RUN-1", events[0].TransactionID)
	require.Equal(t, click.UnixMicro(), events[0].TimestampMicros)

	waitDelivered(t, ctx, pool, "RUN-1")

	code, body := httpGet(t, base+"/healthz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = httpGet(t, base+"/readyz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = httpGet(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "go_goroutines")
	require.Contains(t, body, "ga4_outbox_delivered_total")
	require.Contains(t, body, "ga4_outbox_report_last_run_timestamp_seconds", "the nightly report's gauges are served")

	stop()
	select {
	case err := <-done:
		require.NoError(t, err, "SIGTERM/SIGINT (a cancelled context) is a clean exit")
	case <-ctx.Done():
		t.Fatal("run did not stop after its context was cancelled")
	}
	waitLog(t, ctx, lines, "sidecar stopped")
	_, err = http.Get(base + "/healthz")
	require.Error(t, err, "the metrics server is closed")
}

func TestRunRefusesToStart(t *testing.T) {
	t.Parallel()
	t.Run("without measurement id and secret", func(t *testing.T) {
		r := runCmd(t, map[string]string{"DATABASE_URL": "postgres://127.0.0.1:1/none"}, "run")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, "ga4.measurement_id: is required to send")
		require.Contains(t, r.stderr, "ga4.api_secret: is required to send")
	})
	t.Run("unmigrated database", func(t *testing.T) {
		r := runCmd(t, map[string]string{"DATABASE_URL": pgtest.EmptyURL(t), "GA4_MEASUREMENT_ID": "G-RUNTEST1",
			"GA4_API_SECRET": "top-secret-xyz", "GA4_OUTBOX_METRICS_ADDR": "127.0.0.1:0"}, "run")
		require.Equal(t, 1, r.code)
		require.Contains(t, r.stderr, "run ga4-outbox migrate up")
		require.NotContains(t, r.stderr, "top-secret-xyz")
	})
	t.Run("bad log format", func(t *testing.T) {
		r := runCmd(t, nil, "run", "--log-format", "xml")
		require.Equal(t, 2, r.code)
		require.Contains(t, r.stderr, `--log-format "xml": must be json or text`)
	})
}

// waitDelivered polls the row's status until it is delivered or ctx ends.
func waitDelivered(t *testing.T, ctx context.Context, pool *pgxpool.Pool, txID string) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var status string
	for {
		err := pool.QueryRow(ctx, `SELECT status FROM ga4_outbox.events WHERE transaction_id = $1`, txID).Scan(&status)
		if err == nil && status == "delivered" {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("row %s is %q, not delivered", txID, status)
		}
	}
}

// The JSON log writes durations as text, as an operator reads them.
func TestJSONLogDurationsAreText(t *testing.T) {
	t.Parallel()
	var sb strings.Builder
	logger, err := newLogger(&sb, "json", "info")
	require.NoError(t, err)
	logger.Info("x", "retry_in", 1500*time.Millisecond, "rows", 3)
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(sb.String()), &line))
	require.Equal(t, "1.5s", line["retry_in"])
	require.Equal(t, 3.0, line["rows"])
}
