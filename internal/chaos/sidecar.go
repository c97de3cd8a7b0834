package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sidecarConfig is the run processes' config.yaml: small batches, a short
// lease and a short backoff so that kills and faults resolve within the run.
const sidecarConfig = `# written by internal/chaos
ga4:
  timeout: 2s
poller:
  batch_size: %d
  concurrency: 16
  lease: 5s
  max_attempts: 25
  backoff_initial: 100ms
  backoff_max: 2s
  schedule: "@every 1s"
  shutdown_grace: 5s
reconcile:
  schedule: "off"
`

// buildBinary returns bin when set, else builds ./cmd/ga4-outbox into dir.
func buildBinary(ctx context.Context, bin, dir string) (string, error) {
	if bin != "" {
		return bin, nil
	}
	out := filepath.Join(dir, "ga4-outbox")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "github.com/ga4-outbox/ga4-outbox/cmd/ga4-outbox")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build ga4-outbox: %w\n%s", err, msg)
	}
	return out, nil
}

// env is the sidecar processes' environment: nothing inherited but PATH
// and HOME, so no stray GA4_* variable changes the scenario.
func (s *scenario) env(endpoint string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DATABASE_URL=" + s.dbURL, "GA4_MEASUREMENT_ID=" + measurementID, "GA4_API_SECRET=" + s.sec.apiSecret,
		"GA4_ENDPOINT=" + endpoint, "GA4_OUTBOX_METRICS_ADDR=127.0.0.1:0"}
}

// migrate applies the schema with the binary, as an operator would.
func (s *scenario) migrate(ctx context.Context) error {
	logPath := filepath.Join(s.workDir, "migrate.log")
	f, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("migrate log: %w", err)
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, s.o.Binary, "migrate", "up")
	cmd.Env, cmd.Stdout, cmd.Stderr, cmd.Dir = s.env(""), f, f, s.workDir
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(logPath)
		return fmt.Errorf("ga4-outbox migrate up: %w: %s", err, strings.TrimSpace(string(msg)))
	}
	return nil
}

func (s *scenario) startSidecars(ctx context.Context, endpoint string) (*supervisor, error) {
	cfgPath := filepath.Join(s.workDir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(sidecarConfig, batchSize)), 0o644); err != nil {
		return nil, fmt.Errorf("write sidecar config: %w", err)
	}
	sup := &supervisor{bin: s.o.Binary, args: []string{"run", "--config", cfgPath, "--log-format", "json", "--log-level", "debug"},
		env: s.env(endpoint), dir: s.workDir, logf: s.o.Logf}
	for i := range sidecars {
		sup.slots = append(sup.slots, &slot{name: fmt.Sprintf("sidecar%d", i+1)})
		if err := sup.start(sup.slots[i]); err != nil {
			_ = sup.stopAll(5 * time.Second)
			return nil, err
		}
	}
	s.o.Logf("started %d ga4-outbox run processes (logs in %s)", sidecars, s.workDir)
	return sup, nil
}

// supervisor runs the sidecar processes and restarts any that exits on its
// own, as Kubernetes or systemd would; such exits are counted.
type supervisor struct {
	bin  string
	args []string
	env  []string
	dir  string
	logf func(string, ...any)

	mu         sync.Mutex
	slots      []*slot
	stopping   bool
	unexpected []string
	logs       []string
}

// slot is one sidecar position; each start is a new incarnation.
type slot struct {
	name        string
	incarnation int
	cmd         *exec.Cmd
	done        chan struct{}
	ours        bool // we signalled it: its exit is expected
	exitErr     error
}

func (sv *supervisor) start(sl *slot) error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.stopping {
		return nil
	}
	sl.incarnation++
	path := filepath.Join(sv.dir, fmt.Sprintf("%s-%02d.log", sl.name, sl.incarnation))
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("sidecar log: %w", err)
	}
	cmd := exec.Command(sv.bin, sv.args...)
	cmd.Env, cmd.Stdout, cmd.Stderr, cmd.Dir = sv.env, f, f, sv.dir
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", sl.name, err)
	}
	sv.logs = append(sv.logs, path)
	sl.cmd, sl.done, sl.ours, sl.exitErr = cmd, make(chan struct{}), false, nil
	go sv.wait(sl, cmd, f, sl.done)
	return nil
}

func (sv *supervisor) wait(sl *slot, cmd *exec.Cmd, f *os.File, done chan struct{}) {
	err := cmd.Wait()
	f.Close()
	sv.mu.Lock()
	sl.exitErr = err
	restart := !sl.ours && !sv.stopping
	if !sl.ours {
		sv.unexpected = append(sv.unexpected, fmt.Sprintf("%s incarnation %d exited on its own: %v", sl.name, sl.incarnation, err))
	}
	sv.mu.Unlock()
	close(done)
	if restart {
		sv.logf("%s exited on its own (%v); restarting", sl.name, err)
		time.Sleep(200 * time.Millisecond)
		if err := sv.start(sl); err != nil {
			sv.logf("restart %s: %v", sl.name, err)
		}
	}
}

// kill SIGKILLs the slot's process, waits for it and starts it again.
func (sv *supervisor) kill(sl *slot) error {
	sv.mu.Lock()
	sl.ours = true
	cmd, done := sl.cmd, sl.done
	sv.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill %s: %w", sl.name, err)
	}
	<-done
	return sv.start(sl)
}

// stopAll sends SIGTERM to every process and waits up to grace for each to
// exit; a process that needs a SIGKILL or exits non-zero is an error.
func (sv *supervisor) stopAll(grace time.Duration) error {
	sv.mu.Lock()
	sv.stopping = true
	slots := append([]*slot(nil), sv.slots...)
	for _, sl := range slots {
		sl.ours = true
		if sl.cmd != nil {
			_ = sl.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	sv.mu.Unlock()
	var errs []error
	for _, sl := range slots {
		if sl.done == nil {
			continue
		}
		select {
		case <-sl.done:
		case <-time.After(grace):
			_ = sl.cmd.Process.Kill()
			<-sl.done
			errs = append(errs, fmt.Errorf("%s did not stop within %s of SIGTERM", sl.name, grace))
			continue
		}
		if sl.exitErr != nil {
			errs = append(errs, fmt.Errorf("%s exited with %v after SIGTERM", sl.name, sl.exitErr))
		}
	}
	return errors.Join(errs...)
}

func (sv *supervisor) unexpectedExits() []string {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return append([]string(nil), sv.unexpected...)
}

// currentLogs returns the log file of each slot's running incarnation.
func (sv *supervisor) currentLogs() []string {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	var out []string
	for _, sl := range sv.slots {
		out = append(out, filepath.Join(sv.dir, fmt.Sprintf("%s-%02d.log", sl.name, sl.incarnation)))
	}
	return out
}

func (sv *supervisor) logFiles() []string {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return append([]string(nil), sv.logs...)
}
