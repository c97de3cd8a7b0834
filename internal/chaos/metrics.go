package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// scrapeMetrics fetches /metrics, /healthz and /readyz from every running
// sidecar: each must answer, /metrics must carry the outbox metrics, and no
// answer may contain a secret (a metric label with the api_secret would).
func (s *scenario) scrapeMetrics(ctx context.Context, sup *supervisor) {
	for _, path := range sup.currentLogs() {
		addr, err := metricsAddr(path)
		if err != nil {
			s.addErr(err)
			continue
		}
		for _, ep := range []string{"/metrics", "/healthz", "/readyz"} {
			body, err := get(ctx, "http://"+addr+ep)
			if err != nil {
				s.addErr(fmt.Errorf("%s: %w", filepath.Base(path), err))
				continue
			}
			s.rep.Scraped++
			for _, what := range s.sec.find(body) {
				s.rep.Leaks = append(s.rep.Leaks, fmt.Sprintf("%s%s of %s contains the %s", addr, ep, filepath.Base(path), what))
			}
			if ep == "/metrics" && !strings.Contains(body, "ga4_outbox_delivered_total") {
				s.addErr(fmt.Errorf("%s/metrics has no ga4_outbox_delivered_total", addr))
			}
		}
	}
}

// metricsAddr reads the address a sidecar logged ("metrics server
// listening").
func metricsAddr(logPath string) (string, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return "", fmt.Errorf("metrics address: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var l logLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "metrics server listening" {
			return l.Addr, nil
		}
	}
	return "", fmt.Errorf("%s: no \"metrics server listening\" line", filepath.Base(logPath))
}

func get(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}
