package delivery_test

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// BenchmarkDrainProcess measures the shipped binary: `ga4-outbox emulator`
// and `ga4-outbox drain` run as separate processes, so the figures (events/s,
// the drain process's CPU and peak RSS) are the sidecar's own, not the
// emulator's. GA4_OUTBOX_BENCH_ROWS sets the backlog (default 20,000;
// 100,000 with GA4_OUTBOX_BENCH=full); GA4_OUTBOX_BENCH_DROP the share of
// dropped requests (e.g. 0.01), GA4_OUTBOX_BENCH_5XX the share answered
// 500.
//
// The network mode stands in for Google's endpoint, tens of ms away over
// TLS with HTTP/2: GA4_OUTBOX_BENCH_TLS=1 serves the emulator over https
// (--tls; the drain trusts it through SSL_CERT_FILE) and
// GA4_OUTBOX_BENCH_LATENCY=40ms delays each answer (--latency). In that
// mode, as on loopback, the drain runs its default config (only the
// endpoint, the ids and database.max_conns 8 set) unless BENCH_BATCH or
// BENCH_CONCURRENCY say otherwise; GA4_OUTBOX_BENCH_BIN drains with
// another build of the binary (an older commit's; the emulator stays this
// tree's). The
// emulator's counters are reported too: requests, requests per row,
// duplicates, the requests over HTTP/2, and the TCP connections the drain
// dialled (tcp-conns-dialled), those that carried requests (tcp-conns)
// and the most of those open at once (tcp-conns-max-open).
func BenchmarkDrainProcess(b *testing.B) {
	rows := envInt("GA4_OUTBOX_BENCH_ROWS", benchSize(20_000, 100_000))
	knobs := benchKnobsFromEnv()
	bin := buildBinary(b)
	b.StopTimer()
	for range b.N {
		emu := startEmulatorProcess(b, bin, knobs)
		r := &benchRig{}
		dbURL := pgtest.URL(b)
		r.pool = openPool(b, dbURL)
		r.fill(b, rows)
		cfg := filepath.Join(b.TempDir(), "config.yaml")
		writeBenchConfig(b, cfg)
		cmd := exec.Command(cmp.Or(os.Getenv("GA4_OUTBOX_BENCH_BIN"), bin), "drain", "--timeout", "60m")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "GA4_MEASUREMENT_ID=G-BENCH1234",
			"GA4_API_SECRET=bench-secret", "GA4_ENDPOINT="+emu.url, "GA4_OUTBOX_CONFIG="+cfg)
		if emu.certFile != "" {
			cmd.Env = append(cmd.Env, "SSL_CERT_FILE="+emu.certFile)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		emu.reset(b)
		start := time.Now()
		b.StartTimer()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		hwm := watchPeakRSS(cmd.Process.Pid)
		err := cmd.Wait()
		b.StopTimer()
		elapsed := time.Since(start)
		if err != nil {
			b.Fatalf("drain: %v\n%s", err, out.String())
		}
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		st := emu.stats(b)
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "events/s")
		b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "drain-cpu-cores")
		b.ReportMetric(float64(hwm())/(1<<20), "drain-peak-RSS-MB")
		reportEmulatorStats(b, st, rows)
		if st.Accepted-st.Duplicates < rows {
			b.Fatalf("emulator accepted %d distinct events, want %d", st.Accepted-st.Duplicates, rows)
		}
	}
}

// reportEmulatorStats reports what the emulator counted during the drain.
func reportEmulatorStats(b *testing.B, st emulatorCounters, rows int) {
	b.ReportMetric(float64(st.FaultsDrop), "dropped-requests")
	b.ReportMetric(float64(st.Faults5xx), "5xx-answers")
	b.ReportMetric(float64(st.Duplicates), "duplicates")
	b.ReportMetric(float64(st.Requests), "requests")
	b.ReportMetric(float64(st.Requests)/float64(rows), "requests-per-row")
	b.ReportMetric(float64(st.HTTP2Requests), "http2-requests")
	b.ReportMetric(float64(st.Connections-1), "tcp-conns-dialled") // less the stats request's own
	b.ReportMetric(float64(st.MPConnections), "tcp-conns")
	b.ReportMetric(float64(st.MaxOpenMPConnections), "tcp-conns-max-open")
}

// watchPeakRSS samples the process's VmHWM (its own peak RSS; rusage's
// maxrss would include the forking parent's) every 20 ms until it exits.
func watchPeakRSS(pid int) func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(b), "\n") {
				if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
					peak.Store(max(peak.Load(), n*1024))
				}
				if strings.HasPrefix(line, "State:") && strings.Contains(line, "zombie") {
					return
				}
			}
			time.Sleep(20 * time.Millisecond) // sampling another process: nothing to wait on
		}
	}()
	return func() int64 { <-done; return peak.Load() }
}

func buildBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "ga4-outbox")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/ga4-outbox").CombinedOutput()
	if err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// benchKnobs are the emulator's settings for BenchmarkDrainProcess, from
// the environment (see there).
type benchKnobs struct {
	tls                     bool
	latency, drop, share5xx string
}

func benchKnobsFromEnv() benchKnobs {
	return benchKnobs{tls: os.Getenv("GA4_OUTBOX_BENCH_TLS") == "1", latency: os.Getenv("GA4_OUTBOX_BENCH_LATENCY"),
		drop: os.Getenv("GA4_OUTBOX_BENCH_DROP"), share5xx: os.Getenv("GA4_OUTBOX_BENCH_5XX")}
}

// network reports whether the emulator stands in for a distant endpoint.
func (k benchKnobs) network() bool { return k.tls || k.latency != "" }

// emulatorArgs returns the emulator's flags; certFile receives the
// certificate with tls.
func (k benchKnobs) emulatorArgs(addr, certFile string) []string {
	args := []string{"emulator", "--addr", addr, "--max-recorded", "0"}
	for _, f := range []struct{ flag, v string }{{"--share-drop", k.drop}, {"--share-5xx", k.share5xx}, {"--latency", k.latency}} {
		if f.v != "" {
			args = append(args, f.flag, f.v)
		}
	}
	if k.tls {
		args = append(args, "--tls", "--cert-out", certFile)
	}
	return args
}

// emulatorProcess is a running `ga4-outbox emulator`.
type emulatorProcess struct {
	url      string // http://addr or https://addr
	certFile string // the certificate PEM with tls, else ""
	client   *http.Client
}

func startEmulatorProcess(b *testing.B, bin string, knobs benchKnobs) *emulatorProcess {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	emu := &emulatorProcess{url: "http://" + addr}
	if knobs.tls {
		emu.url, emu.certFile = "https://"+addr, filepath.Join(b.TempDir(), "emulator.pem")
	}
	cmd := exec.Command(bin, knobs.emulatorArgs(addr, emu.certFile)...)
	cmd.Env = append(os.Environ(), "GA4_OUTBOX_CONFIG=/dev/null")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if i > 500 {
			b.Fatal("emulator did not start")
		}
		time.Sleep(10 * time.Millisecond) // waiting for another process to listen: nothing to signal on
	}
	emu.client = emulatorClient(b, emu.certFile)
	return emu
}

// emulatorClient returns a client for the emulator's API that trusts
// certFile (when set) and keeps no connection open, so that the
// emulator's connection counters see the drain's alone.
// The timeout leaves room for /emulator/stats to analyse a million bodies.
func emulatorClient(b *testing.B, certFile string) *http.Client {
	b.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	if certFile != "" {
		pem, err := os.ReadFile(certFile) // written before the emulator listens
		if err != nil {
			b.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			b.Fatalf("%s holds no certificate", certFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Minute}
}

// reset zeroes the emulator's counters (the start-up probes' connections
// too).
func (e *emulatorProcess) reset(b *testing.B) {
	b.Helper()
	resp, err := e.client.Post(e.url+"/emulator/reset", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

// emulatorCounters is /emulator/stats.
type emulatorCounters struct {
	ga4test.Stats
	ga4test.TransportStats
}

func (e *emulatorProcess) stats(b *testing.B) emulatorCounters {
	b.Helper()
	resp, err := e.client.Get(e.url + "/emulator/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st emulatorCounters
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	return st
}

// writeBenchConfig writes the drain's config: database.max_conns 8 and the
// poller's defaults; BENCH_BATCH, BENCH_CONCURRENCY, BENCH_INFLIGHT, BENCH_LEASE and
// BENCH_TIMEOUT (ga4.timeout) override those, and GA4_OUTBOX_BENCH_H2C=1
// sets ga4.cleartext_http2 (HTTP/2 to the plaintext emulator).
func writeBenchConfig(b *testing.B, path string) {
	b.Helper()
	cfg := "database:\n  max_conns: 8\n" // the poller at its defaults unless BENCH_* say otherwise
	var poller string
	for _, k := range []struct{ env, key string }{{"BENCH_BATCH", "batch_size"}, {"BENCH_CONCURRENCY", "concurrency"},
		{"BENCH_INFLIGHT", "in_flight_batches"}} {
		if n := envInt(k.env, 0); n > 0 {
			poller += fmt.Sprintf("  %s: %d\n", k.key, n)
		}
	}
	if d := os.Getenv("BENCH_LEASE"); d != "" {
		poller += "  lease: " + d + "\n"
	}
	if poller != "" {
		cfg += "poller:\n" + poller
	}
	var ga string
	if os.Getenv("GA4_OUTBOX_BENCH_H2C") == "1" { // loopback: HTTP/2 without TLS to the emulator
		ga += "  cleartext_http2: true\n"
	}
	if d := os.Getenv("BENCH_TIMEOUT"); d != "" {
		ga += "  timeout: " + d + "\n"
	}
	if ga != "" {
		cfg += "ga4:\n" + ga
	}
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
}
