package delivery_test

import (
	"bytes"
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
// dropped connections (e.g. 0.01).
func BenchmarkDrainProcess(b *testing.B) {
	rows := envInt("GA4_OUTBOX_BENCH_ROWS", benchSize(20_000, 100_000))
	drop := os.Getenv("GA4_OUTBOX_BENCH_DROP")
	bin := buildBinary(b)
	b.StopTimer()
	for range b.N {
		addr := startEmulatorProcess(b, bin, drop)
		r := &benchRig{}
		dbURL := pgtest.URL(b)
		r.pool = openPool(b, dbURL)
		r.fill(b, rows)
		cfg := filepath.Join(b.TempDir(), "config.yaml")
		writeBenchConfig(b, cfg)
		cmd := exec.Command(bin, "drain", "--timeout", "60m")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "GA4_MEASUREMENT_ID=G-BENCH1234",
			"GA4_API_SECRET=bench-secret", "GA4_ENDPOINT=http://"+addr, "GA4_OUTBOX_CONFIG="+cfg)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
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
		st := emulatorStats(b, addr)
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "events/s")
		b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "drain-cpu-cores")
		b.ReportMetric(float64(hwm())/(1<<20), "drain-peak-RSS-MB")
		b.ReportMetric(float64(st.FaultsDrop), "dropped-requests")
		b.ReportMetric(float64(st.Duplicates), "duplicates")
		if st.Accepted-st.Duplicates < rows {
			b.Fatalf("emulator accepted %d distinct events, want %d", st.Accepted-st.Duplicates, rows)
		}
	}
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

func startEmulatorProcess(b *testing.B, bin, drop string) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args := []string{"emulator", "--addr", addr, "--max-recorded", "0"}
	if drop != "" {
		args = append(args, "--share-drop", drop)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GA4_OUTBOX_CONFIG=/dev/null")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if i > 500 {
			b.Fatal("emulator did not start")
		}
		time.Sleep(10 * time.Millisecond) // waiting for another process to listen: nothing to signal on
	}
}

func emulatorStats(b *testing.B, addr string) ga4test.Stats {
	b.Helper()
	resp, err := http.Get("http://" + addr + "/emulator/stats")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var st ga4test.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		b.Fatal(err)
	}
	return st
}

func writeBenchConfig(b *testing.B, path string) {
	b.Helper()
	cfg := fmt.Sprintf("database:\n  max_conns: 8\npoller:\n  batch_size: %d\n  concurrency: %d\n",
		envInt("BENCH_BATCH", 1000), envInt("BENCH_CONCURRENCY", 32))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
}
