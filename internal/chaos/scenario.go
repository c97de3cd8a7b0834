package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Sidecar settings the scenario writes into the run processes' config.
const (
	measurementID = "G-CHAOS0001"
	batchSize     = 200
	// inFlightBatches is poller.Config.InFlightBatches as `run` leaves it
	// (its default): the batches one process may have claimed and not yet
	// marked when it is killed.
	inFlightBatches = 8
	sidecars        = 2
)

// Options says how hard to shake. DefaultOptions is the full `make chaos`.
type Options struct {
	// AdminURL names the server; a fresh database is created on it (unless
	// DatabaseURL is set).
	AdminURL string
	// DatabaseURL is a database to use as is (tests pass a fresh one);
	// empty means create one on AdminURL and drop it afterwards.
	DatabaseURL string
	// Rows is the number of conversions enqueued. Defaults to 100,000.
	Rows int
	// Writers is the number of concurrent writers. Defaults to 4.
	Writers int
	// WriteFor spreads the writes over this long. Defaults to 20s.
	WriteFor time.Duration
	// Kills is the number of SIGKILLs. Defaults to 10.
	Kills int
	// KillEvery is the time between kills. Defaults to 3s.
	KillEvery time.Duration
	// PGRestart restarts PostgreSQL once, halfway through the writes.
	// Defaults to true.
	PGRestart bool
	// PGCluster is "<version> <name>" for pg_ctlcluster. Defaults to "15 main".
	PGCluster string
	// Timeout bounds the whole run. Defaults to 10m.
	Timeout time.Duration
	// Binary is a built ga4-outbox; empty means build ./cmd/ga4-outbox.
	Binary string
	// WorkDir receives the config and the process logs; empty means a
	// temporary directory.
	WorkDir string
	// Keep keeps the database and the work directory.
	Keep bool
	// Logf prints progress. Nil discards.
	Logf func(format string, args ...any)
}

// DefaultOptions is the full run of `make chaos`.
func DefaultOptions() Options {
	return Options{Rows: 100_000, Writers: 4, WriteFor: 20 * time.Second, Kills: 10, KillEvery: 3 * time.Second,
		PGRestart: true, PGCluster: "15 main", Timeout: 10 * time.Minute}
}

func (o *Options) validate() error {
	switch {
	case o.Rows < 100:
		return errors.New("-rows must be at least 100")
	case o.Writers < 1:
		return errors.New("-writers must be at least 1")
	case o.Kills < 0 || o.KillEvery <= 0:
		return errors.New("-kills must not be negative and -kill-every must be positive")
	case o.Timeout <= 0 || o.WriteFor < 0:
		return errors.New("-timeout must be positive and -write-for not negative")
	case o.AdminURL == "" && o.DatabaseURL == "":
		return errors.New("-database-url is required")
	}
	return nil
}

// secrets are generated per run; the leak scan looks for them.
type secrets struct {
	apiSecret  string
	dbPassword string
}

func newSecrets() secrets {
	return secrets{apiSecret: "mp-secret-" + randomHex(12), dbPassword: "db-pw-" + randomHex(12)}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Run runs the scenario and returns its report. The error is for problems
// that stopped the scenario; failed checks are in the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	s := &scenario{o: o, sec: newSecrets(), rep: &Report{Rows: o.Rows, Writers: o.Writers, Sidecars: sidecars, BatchSize: batchSize}}
	err := s.run(ctx)
	s.rep.Errors = append(s.rep.Errors, s.errs...)
	if err != nil {
		s.rep.Errors = append(s.rep.Errors, err.Error())
	}
	s.rep.scanErrors(s.sec)
	if !s.rep.Passed() && s.workDir != "" && !o.Keep && o.WorkDir == "" {
		s.rep.WorkDir = s.workDir // logs kept for the post-mortem
		s.keepWorkDir = true
	}
	s.cleanup()
	if err != nil {
		return s.rep, redact(err, s.sec)
	}
	return s.rep, nil
}

// scenario is one run's state.
type scenario struct {
	o        Options
	sec      secrets
	rep      *Report
	workDir  string
	adminURL string // the owner, with the password
	dbURL    string // the sidecars', with the password
	roles    *roles
	// keepWorkDir keeps the logs after a failed check.
	keepWorkDir bool
	writers     *pgxpool.Pool
	dropDB      func()
	pool        *pgxpool.Pool
	mu          sync.Mutex
	errs        []string
	cleanups    []func()
}

// addErr records a problem that does not stop the scenario.
func (s *scenario) addErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err.Error())
}

func (s *scenario) run(ctx context.Context) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	emu, err := startEmulator(ctx, s.sec.apiSecret)
	if err != nil {
		return err
	}
	s.cleanups = append(s.cleanups, emu.close)
	s.o.Logf("emulator on %s (20%% 5xx, 3%% 429 Retry-After 1s, 1%% dropped connections, 1-20ms latency)", emu.url)
	sup, err := s.startSidecars(ctx, emu.url)
	if err != nil {
		return err
	}
	start := time.Now()
	s.shake(ctx, sup)
	drainErr := s.waitDrained(ctx, sup)
	s.rep.Seconds = time.Since(start).Seconds()
	s.scrapeMetrics(ctx, sup)
	stopErr := sup.stopAll(15 * time.Second)
	s.rep.UnexpectedExits = sup.unexpectedExits()
	if drainErr != nil {
		s.addErr(drainErr)
	}
	if stopErr != nil {
		s.addErr(stopErr)
	}
	if err := s.check(context.WithoutCancel(ctx), emu, sup); err != nil {
		return err
	}
	return nil
}

// prepare makes the work directory, the database (migrated by the binary)
// and the writers' pool.
func (s *scenario) prepare(ctx context.Context) error {
	s.workDir = s.o.WorkDir
	if s.workDir == "" {
		d, err := os.MkdirTemp("", "ga4-outbox-chaos-")
		if err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
		s.workDir = d
	} else if err := os.MkdirAll(s.workDir, 0o755); err != nil {
		return fmt.Errorf("work dir: %w", err)
	}
	bin, err := buildBinary(ctx, s.o.Binary, s.workDir)
	if err != nil {
		return err
	}
	s.o.Binary = bin
	base := s.o.DatabaseURL
	if base == "" {
		if base, s.dropDB, err = createDatabase(ctx, s.o.AdminURL); err != nil {
			return err
		}
	}
	if s.adminURL, err = withPassword(base, s.sec.dbPassword); err != nil {
		return err
	}
	s.dbURL = s.adminURL
	if err := s.migrate(ctx); err != nil {
		return err
	}
	writerURL, err := s.leastPrivilege(ctx)
	if err != nil {
		return err
	}
	if s.pool, err = pgxpool.New(ctx, s.adminURL); err != nil {
		return errors.New("connect: cannot open the database")
	}
	if s.writers, err = pgxpool.New(ctx, writerURL); err != nil {
		return errors.New("connect writers' pool: cannot open the database")
	}
	return nil
}

// leastPrivilege switches the sidecars to deploy/sql/role.sql's role and
// returns the URL of the writers' application role (app-grants.sql). When
// the roles cannot be made, everything runs as the owner, and the report
// says so.
func (s *scenario) leastPrivilege(ctx context.Context) (string, error) {
	r, why := setupRoles(ctx, s.adminURL)
	if r == nil {
		s.rep.Roles = "owner (" + why + ")"
		return s.adminURL, nil
	}
	s.roles = r
	s.rep.Roles = fmt.Sprintf("sidecars as %s (deploy/sql/role.sql), writers as %s (app-grants.sql)", r.sidecar, r.app)
	var err error
	if s.dbURL, err = asUser(s.adminURL, r.sidecar, s.sec.dbPassword); err != nil {
		return "", err
	}
	return asUser(s.adminURL, r.app, s.sec.dbPassword)
}

// withPassword puts password into the URL: the server trusts loopback, so
// any password works, and the leak scan can look for this one.
func withPassword(raw, password string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return "", errors.New("database url must be a postgres:// URL with a user")
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String(), nil
}

func (s *scenario) cleanup() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	if s.writers != nil {
		s.writers.Close()
	}
	if s.pool != nil {
		s.pool.Close()
	}
	if s.roles != nil && !s.o.Keep {
		s.roles.drop(context.Background(), s.adminURL)
	}
	if s.dropDB != nil && !s.o.Keep {
		s.dropDB()
	}
	if s.workDir != "" && !s.o.Keep && !s.keepWorkDir && s.o.WorkDir == "" {
		_ = os.RemoveAll(s.workDir)
	}
}
