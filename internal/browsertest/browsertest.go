// Package browsertest runs pages in a headless Chromium for tests: it dumps
// the DOM after the page's scripts ran (so a page can write its results as
// JSON for the test to parse) and saves screenshots.
//
// It drives Debian's chromium binary through its command line only
// (--dump-dom, --screenshot, --virtual-time-budget): no DevTools client, no
// extra Go dependency. Virtual time makes timers deterministic and fast: a
// page's setTimeout(…, 3000) fires after about a tenth of a second, in order.
//
// When no browser is found the test is skipped with a message saying
// "apt-get install chromium"; with PGTEST_REQUIRE=1 or BROWSER_REQUIRE=1
// (CI sets the first) it fails instead.
package browsertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// EnvBrowser names a variable holding the browser binary to use instead of
// the first of Candidates found.
const EnvBrowser = "CHROMIUM"

// Candidates are the browser binaries tried in order when CHROMIUM is unset.
var Candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}

// DefaultBudget is the virtual time a page gets to run its scripts.
const DefaultBudget = 10 * time.Second

// runTimeout bounds one browser run in wall-clock time.
const runTimeout = 90 * time.Second

// ErrNoBrowser says that no Chromium binary was found.
var ErrNoBrowser = errors.New("no headless Chromium found (apt-get install chromium, or set " + EnvBrowser + ")")

// Find returns the path of the Chromium binary, or ErrNoBrowser.
func Find() (string, error) {
	if p := os.Getenv(EnvBrowser); p != "" {
		return exec.LookPath(p)
	}
	for _, c := range Candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Require returns the Chromium binary, skipping the test when there is none
// (failing with PGTEST_REQUIRE=1 or BROWSER_REQUIRE=1).
func Require(t testing.TB) string {
	t.Helper()
	p, err := Find()
	if err == nil {
		return p
	}
	msg := "browser test needs Chromium: apt-get install chromium (" + err.Error() + ")"
	if os.Getenv("PGTEST_REQUIRE") == "1" || os.Getenv("BROWSER_REQUIRE") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// DumpDOM loads url, lets its scripts run for budget of virtual time
// (DefaultBudget when zero) and returns the serialised DOM.
func DumpDOM(t testing.TB, url string, budget time.Duration) string {
	t.Helper()
	out, err := run(Require(t), t.TempDir(), budget, "--dump-dom", url)
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", url, err)
	}
	return string(out)
}

// Screenshot loads url in a 1280x2000 window, lets it run for DefaultBudget
// of virtual time and saves a PNG at path (its directory is created). Keep
// screenshots under testdata/artifacts/, which git ignores.
func Screenshot(t testing.TB, url, path string) {
	t.Helper()
	ScreenshotSize(t, url, path, 1280, 2000)
}

// ScreenshotSize is Screenshot with the window size in CSS pixels; the page
// is captured from its top, at most height pixels of it.
func ScreenshotSize(t testing.TB, url, path string, width, height int) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatalf("screenshot path: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		t.Fatalf("screenshot directory: %v", err)
	}
	_, err = run(Require(t), t.TempDir(), 0, "--screenshot="+abs,
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--hide-scrollbars", url)
	if err != nil {
		t.Fatalf("chromium --screenshot %s: %v", url, err)
	}
	if fi, err := os.Stat(abs); err != nil || fi.Size() == 0 {
		t.Fatalf("chromium wrote no screenshot at %s (%v)", abs, err)
	}
}

// baseFlags keep Chromium offline and quiet: no sandbox (tests may run as
// root), no GPU, no QUIC, no first-run, sync, update or crash-report traffic.
var baseFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-breakpad", "--disable-crash-reporter", "--disable-dev-shm-usage",
	"--mute-audio", "--no-default-browser-check",
}

func run(bin, profile string, budget time.Duration, args ...string) ([]byte, error) {
	if budget <= 0 {
		budget = DefaultBudget
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	flags := append(append([]string{}, baseFlags...),
		"--user-data-dir="+profile, "--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10))
	cmd := exec.CommandContext(ctx, bin, append(flags, args...)...)
	// Own process group, killed as a whole: Chromium's helper processes must
	// not outlive the test (they would keep writing into the temp profile).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		return nil, fmt.Errorf("%w; stderr tail: %s", err, tail(stderr.Bytes(), 800))
	}
	return stdout.Bytes(), nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
