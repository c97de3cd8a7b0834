package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// dirPrefix names the temporary folders clusters live in; the sweep only
// ever looks at folders with this prefix.
const dirPrefix = "ga4-outbox-pg-"

// ownerFile, in a cluster's folder, holds the pid of the process that
// started it.
const ownerFile = "owner.pid"

// Options tune Start. The zero value (or nil) suits the demo and the tests.
type Options struct {
	// BinDir holds initdb and postgres. Defaults to FindBinDir(os.Getenv).
	BinDir string
	// TempDir is where the cluster's folder is created. Defaults to
	// os.TempDir().
	TempDir string
	// StartTimeout bounds initdb plus the server's startup. Defaults to 2m.
	StartTimeout time.Duration
}

// Cluster is a running throwaway PostgreSQL. Stop it when done.
type Cluster struct {
	// URL reaches its postgres database as superuser postgres (trust auth).
	URL string
	// Dir is the temporary folder holding the data directory, the socket
	// and the server log; Stop removes it.
	Dir string
	// BinDir is the folder the binaries were run from.
	BinDir string

	cmd      *exec.Cmd
	exited   chan struct{} // closed when the postmaster has exited
	stopOnce sync.Once
	stopErr  error
}

// DataDir is the cluster's data directory (inside Dir).
func (c *Cluster) DataDir() string { return filepath.Join(c.Dir, "data") }

// Start creates a cluster in a new temporary folder and starts it on a free
// port on 127.0.0.1. On error nothing is left behind.
func Start(ctx context.Context, opts *Options) (*Cluster, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 2 * time.Minute
	}
	if o.BinDir == "" {
		d, err := FindBinDir(os.Getenv)
		if err != nil {
			return nil, err
		}
		o.BinDir = d
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	sweep(o.TempDir)
	dir, err := makeDir(o.TempDir, cred)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, BinDir: o.BinDir}
	if err := c.init(ctx, cred); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := c.serve(ctx, cred); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// makeDir creates the cluster's folder, records its owner and hands it to
// the user the programs run as.
func makeDir(parent string, cred *credential) (string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	// A Unix socket path is limited to 103 bytes on macOS (whose $TMPDIR is
	// long): <parent>/<prefix><10 digits>/.s.PGSQL.<port> must fit, else /tmp.
	if len(parent)+len(dirPrefix)+28 > 103 {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, dirPrefix)
	if err != nil {
		return "", fmt.Errorf("create the cluster's folder: %w", err)
	}
	err = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
	if err == nil {
		err = handOver(dir, cred)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("prepare the cluster's folder: %w", err)
	}
	return dir, nil
}

// init runs initdb: trust auth for user postgres, no fsync (the data is
// thrown away), C locale so the result does not depend on the machine's.
func (c *Cluster) init(ctx context.Context, cred *credential) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "initdb"), "-D", c.DataDir(),
		"-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd.Dir, cmd.Env, cmd.SysProcAttr = c.Dir, childEnv(), procAttr(cred)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("initdb (%s): %w\n%s", c.BinDir, err, lastLines(out, 15))
	}
	return nil
}

// serve starts postgres and waits until it accepts connections. A port
// taken between choosing it and binding it is retried with another.
func (c *Cluster) serve(ctx context.Context, cred *credential) error {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		if err = c.startServer(port, cred); err != nil {
			return err
		}
		c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
		if err = c.waitReady(ctx); err == nil {
			return nil
		}
		log, _ := os.ReadFile(filepath.Join(c.Dir, "postgres.log"))
		if !bytes.Contains(log, []byte("could not bind")) || !c.hasExited() {
			return err
		}
	}
	return err
}

func (c *Cluster) startServer(port int, cred *credential) error {
	logFile, err := os.OpenFile(filepath.Join(c.Dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open the server log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(filepath.Join(c.BinDir, "postgres"), "-D", c.DataDir(),
		"-p", strconv.Itoa(port), "-k", c.Dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Dir, cmd.Env, cmd.SysProcAttr = c.Dir, childEnv(), procAttr(cred)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	c.cmd, c.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(c.exited) }()
	return nil
}

// waitReady polls until a query succeeds, the server exits or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	for {
		if err := ping(ctx, c.URL); err == nil {
			return nil
		}
		select {
		case <-c.exited:
			log, _ := os.ReadFile(filepath.Join(c.Dir, "postgres.log"))
			return fmt.Errorf("postgres exited during startup:\n%s", lastLines(log, 15))
		case <-ctx.Done():
			return fmt.Errorf("wait for postgres to accept connections: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) hasExited() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

func ping(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// Stop shuts the server down at once (SIGQUIT, as `pg_ctl stop -m
// immediate`), kills what remains of its process group after ten seconds
// and removes the folder. It may be called more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		if c.cmd != nil && c.cmd.Process != nil {
			immediateStop(c.cmd.Process)
			select {
			case <-c.exited:
			case <-time.After(10 * time.Second):
			}
			killGroup(c.cmd.Process.Pid) // backends that outlived the postmaster
			<-c.exited
		}
		if err := os.RemoveAll(c.Dir); err != nil {
			c.stopErr = fmt.Errorf("remove the cluster's folder: %w", err)
		}
	})
	return c.stopErr
}

// sweep removes the folders of clusters whose starting process and server
// are both gone (a test binary killed before it could call Stop).
func sweep(parent string) {
	if parent == "" {
		parent = os.TempDir()
	}
	dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
	for _, d := range dirs {
		owner, err := readPid(filepath.Join(d, ownerFile), false)
		if err != nil || owner == os.Getpid() || alive(owner) {
			continue
		}
		if pm, err := readPid(filepath.Join(d, "data", "postmaster.pid"), true); err == nil && alive(pm) {
			continue
		}
		_ = os.RemoveAll(d)
	}
}

// readPid reads the pid on a file's first line; a missing file reads as 0
// when missingOK.
func readPid(path string, missingOK bool) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && missingOK {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// childEnv is the environment without the PG* variables, which would
// otherwise change where initdb and postgres look.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
