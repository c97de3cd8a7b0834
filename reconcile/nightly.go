package reconcile

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// nightlyLockKey is the PostgreSQL advisory lock the nightly run holds, so
// that of several replicas firing at once exactly one writes the report.
const nightlyLockKey int64 = 0x6761346f7265636f // "ga4oreco"

// Nightly writes the report of the previous day once per day, whichever
// replica's scheduler fires first. The run command calls Run from its cron
// job (reconcile.schedule, default "CRON_TZ=UTC 0 2 * * *"); the cron
// wiring lives in cmd, the only place that knows robfig/cron.
type Nightly struct {
	// DB is the pool. Run takes one connection for the advisory lock and,
	// on it, one transaction for the report's snapshot and the
	// reconcile_runs row.
	DB *pgxpool.Pool
	// Dir receives the report files. Defaults to ./reports; created when
	// missing.
	Dir string
	// Formats are the files written. Defaults to markdown and json.
	Formats []string
	// Options tunes the report (StuckAfter, Examples, OrdersQuery); its
	// window and clock are set by Run.
	Options Options
	// Location sets the day boundaries. Defaults to UTC.
	Location *time.Location
	// Metrics, when set, is updated after each report this replica writes.
	Metrics *Metrics
}

// NightlyResult says what one Run did.
type NightlyResult struct {
	// Ran is true when this call wrote the report; false when another
	// replica holds the lock (Skipped "locked") or the day's report exists
	// (Skipped "done").
	Ran     bool
	Skipped string
	RunID   int64
	Since   time.Time
	Until   time.Time
	Files   []string
	Report  *Report
}

// Run reports on the day before now (in Location): takes the advisory
// lock without waiting (a session lock on its own connection, taken before
// the report's transaction starts so that its snapshot sees a run another
// replica has just committed), skips a day already reported, builds the
// report, writes one file per format and records a reconcile_runs row with
// trigger nightly in one repeatable-read transaction. It logs nothing: the
// caller (the run command's job) logs the result once.
func (n *Nightly) Run(ctx context.Context, now time.Time) (*NightlyResult, error) {
	loc := cmp.Or(n.Location, time.UTC)
	local := now.In(loc)
	until := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	res := &NightlyResult{Since: until.AddDate(0, 0, -1), Until: until}
	if err := n.locked(ctx, res, func(conn *pgx.Conn) error {
		return pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
			return n.run(ctx, tx, now, res)
		})
	}); err != nil {
		return nil, fmt.Errorf("nightly report %s: %w", res.Since.Format(time.DateOnly), err)
	}
	return res, nil
}

// locked runs fn on a connection holding nightlyLockKey, or marks res
// skipped when another session holds it.
func (n *Nightly) locked(ctx context.Context, res *NightlyResult, fn func(*pgx.Conn) error) error {
	conn, err := n.DB.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, nightlyLockKey).Scan(&locked); err != nil {
		return fmt.Errorf("take nightly lock: %w", err)
	}
	if !locked {
		res.Skipped = "locked"
		return nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, nightlyLockKey); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // a closed session holds no lock; the pool drops it
		}
	}()
	return fn(conn.Conn())
}

func (n *Nightly) run(ctx context.Context, tx pgx.Tx, now time.Time, res *NightlyResult) error {
	var done bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM ga4_outbox.reconcile_runs
		WHERE trigger = 'nightly' AND window_start = $1 AND window_end = $2 AND finished_at IS NOT NULL)`,
		res.Since, res.Until).Scan(&done)
	if err != nil {
		return fmt.Errorf("look up previous runs: %w", err)
	}
	if done {
		res.Skipped = "done"
		return nil
	}
	opts := n.Options
	opts.Since, opts.Until, opts.Now = res.Since, res.Until, func() time.Time { return now }
	r, err := Build(ctx, tx, opts)
	if err != nil {
		return err
	}
	if res.Files, err = n.write(r); err != nil {
		return err
	}
	summary, err := json.Marshal(r.Summary)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	err = tx.QueryRow(ctx, `INSERT INTO ga4_outbox.reconcile_runs
		(window_start, window_end, started_at, finished_at, trigger, summary, files)
		VALUES ($1, $2, $3, clock_timestamp(), 'nightly', $4, $5) RETURNING id`,
		res.Since, res.Until, now, summary, res.Files).Scan(&res.RunID)
	if err != nil {
		return fmt.Errorf("record run: %w", err)
	}
	res.Ran, res.Report = true, r
	if n.Metrics != nil {
		n.Metrics.observe(r)
	}
	return nil
}

// write renders r once per format into Dir, each file through a temporary
// name so a reader never sees half a report.
func (n *Nightly) write(r *Report) ([]string, error) {
	dir := cmp.Or(n.Dir, "./reports")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create report directory: %w", err)
	}
	formats := n.Formats
	if len(formats) == 0 {
		formats = []string{FormatMarkdown, FormatJSON}
	}
	var files []string
	for _, f := range formats {
		path := filepath.Join(dir, fmt.Sprintf("ga4-outbox-report-%s.%s", r.Since.Format(time.DateOnly), extension(f)))
		if err := writeFile(path, r, f); err != nil {
			return files, err
		}
		files = append(files, path)
	}
	return files, nil
}

func writeFile(path string, r *Report, format string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write report file: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	if err = r.Render(tmp, format); err != nil {
		tmp.Close()
		return err
	}
	if err = errors.Join(tmp.Chmod(0o644), tmp.Close()); err != nil {
		return fmt.Errorf("write report file: %w", err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report file: %w", err)
	}
	return nil
}
