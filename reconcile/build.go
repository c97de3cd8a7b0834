package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Querier is what the report needs from the database: a *pgxpool.Pool, a
// *pgx.Conn or a pgx.Tx (then the report runs in a savepoint of it).
type Querier interface {
	Begin(ctx context.Context) (pgx.Tx, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Options says which window to report on and how.
type Options struct {
	// Since and Until bound the window of business time (occurred_at):
	// [Since, Until). Required; Since must be before Until.
	Since, Until time.Time
	// StuckAfter marks pending rows created longer ago than this as stuck.
	// Defaults to 1h.
	StuckAfter time.Duration
	// Examples is the number of transaction ids listed per problem bucket.
	// Defaults to 5; negative lists none.
	Examples int
	// TopErrors is the number of last error groups listed (ErrorCount).
	// Defaults to 5.
	TopErrors int
	// OrdersQuery, when set, is the operator's query over the application's
	// orders (see docs/REPORT.md); empty skips the orders reconciliation.
	OrdersQuery string
	// ParallelWorkers, when positive, sets max_parallel_workers_per_gather
	// for the report's transaction: the database server's cores minus one
	// suits it best (more workers than cores slow the parallel index scans
	// down). Zero keeps the server's setting (PostgreSQL's default is 2).
	ParallelWorkers int
	// Now is the report's clock. Defaults to time.Now.
	Now func() time.Time
}

// ErrWindow reports a window whose start is not before its end.
var ErrWindow = errors.New("report window: since must be before until")

func (o Options) withDefaults() Options {
	o.StuckAfter = cmp.Or(o.StuckAfter, time.Hour)
	o.Examples = cmp.Or(o.Examples, 5)
	o.Examples = max(o.Examples, 0)
	o.TopErrors = cmp.Or(o.TopErrors, 5)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Build computes the report for opts' window. It aggregates in PostgreSQL
// (one parallel pass for the buckets, one for the lag histogram and
// attempts) and
// never loads the window's rows into memory. Pass a pool or a connection so
// it can raise max_parallel_workers_per_gather for its own transaction.
func Build(ctx context.Context, db Querier, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	if !opts.Since.Before(opts.Until) {
		return nil, ErrWindow
	}
	now := opts.Now().UTC()
	r := &Report{
		SchemaVersion: SchemaVersion, GeneratedAt: now,
		Since: opts.Since.UTC(), Until: opts.Until.UTC(),
		StuckAfterSeconds: int64(opts.StuckAfter / time.Second),
	}
	_, nested := db.(pgx.Tx)
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		return build(ctx, tx, r, opts, now, !nested)
	})
	if err != nil {
		return nil, fmt.Errorf("build report: %w", err)
	}
	return r, nil
}

func build(ctx context.Context, tx pgx.Tx, r *Report, opts Options, now time.Time, top bool) error {
	if top { // a read-only snapshot: every section sees the same rows
		if _, err := tx.Exec(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY`); err != nil {
			return fmt.Errorf("set snapshot: %w", err)
		}
	}
	if err := tune(ctx, tx, opts.ParallelWorkers); err != nil {
		return err
	}
	agg, err := aggregate(ctx, tx, opts.Since, opts.Until, now.Add(-opts.StuckAfter))
	if err != nil {
		return err
	}
	var orders *ordersResult
	if opts.OrdersQuery != "" {
		if orders, err = reconcileOrders(ctx, tx, opts); err != nil {
			return err
		}
	}
	if err := credited(ctx, tx, r); err != nil {
		return err
	}
	agg.fill(r, orders, opts.Examples, now)
	r.Credited.relate(r.Summary)
	if err := lag(ctx, tx, r, opts); err != nil {
		return err
	}
	if err := topErrors(ctx, tx, r, opts); err != nil {
		return err
	}
	if err := refunds(ctx, tx, r, opts); err != nil {
		return err
	}
	return history(ctx, tx, r)
}

// history reads the attributable share of the nightly runs that ended by
// the window's start, for the trend chart.
func history(ctx context.Context, tx pgx.Tx, r *Report) error {
	rows, err := tx.Query(ctx, historySQL, r.Since, historyRuns)
	if err != nil {
		return fmt.Errorf("read report history: %w", err)
	}
	r.History, err = pgx.AppendRows(make([]HistoryPoint, 0), rows, func(row pgx.CollectableRow) (HistoryPoint, error) {
		var p HistoryPoint
		var currency *string
		err := row.Scan(&p.Since, &p.Until, &currency, &p.AttributableShare)
		p.Since, p.Until, p.Currency = p.Since.UTC(), p.Until.UTC(), currencyKey(currency)
		return p, err
	})
	if err != nil {
		return fmt.Errorf("read report history: %w", err)
	}
	return nil
}

// tune sets the report's transaction up: JIT off (compiling costs more
// than it saves on these aggregates), custom plans only (pgx prepares the
// queries on a connection, and after five runs PostgreSQL may switch to a
// generic plan that does not know the window: an index scan over the
// whole table, which makes a long-running sidecar's nightly report slower
// run after run), and its parallel workers.
func tune(ctx context.Context, tx pgx.Tx, workers int) error {
	if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_custom_plan`); err != nil {
		return fmt.Errorf("tune report session: %w", err)
	}
	if workers > 0 {
		if _, err := tx.Exec(ctx, `SELECT set_config('max_parallel_workers_per_gather', $1, true)`, strconv.Itoa(workers)); err != nil {
			return fmt.Errorf("tune report session: %w", err)
		}
	}
	return nil
}

func lag(ctx context.Context, tx pgx.Tx, r *Report, opts Options) error {
	rows, err := tx.Query(ctx, lagSQL, opts.Since, opts.Until)
	if err != nil {
		return fmt.Errorf("query delivery lag: %w", err)
	}
	h := &r.Health
	var hist []lagBin
	var sec *int64
	var n, attempts, attemptsMax, retried int64
	var maxLag float64
	_, err = pgx.ForEachRow(rows, []any{&sec, &n, &maxLag, &attempts, &attemptsMax, &retried}, func() error {
		if sec != nil { // NULL: delivered without delivered_at, no lag
			hist = append(hist, lagBin{*sec, n})
		}
		h.Delivered, h.attemptsSum, h.Retried = h.Delivered+n, h.attemptsSum+attempts, h.Retried+retried
		h.AttemptsMax, h.LagMaxSeconds = max(h.AttemptsMax, attemptsMax), max(h.LagMaxSeconds, maxLag)
		return nil
	})
	if err != nil {
		return fmt.Errorf("query delivery lag: %w", err)
	}
	if h.Delivered > 0 {
		h.AttemptsMean = roundTo(float64(h.attemptsSum)/float64(h.Delivered), 2)
	}
	slices.SortFunc(hist, func(a, b lagBin) int { return cmp.Compare(a.sec, b.sec) })
	h.LagP50Seconds = percentileCont(hist, 0.5)
	h.LagP95Seconds = percentileCont(hist, 0.95)
	return nil
}

// lagBin is one second of the lag histogram: how many deliveries took sec
// (rounded down) seconds.
type lagBin struct{ sec, n int64 }

// percentileCont is PostgreSQL's percentile_cont over the values the
// sorted histogram holds: the value at rank p*(N-1), interpolated between
// its neighbours.
func percentileCont(hist []lagBin, p float64) float64 {
	var total int64
	for _, b := range hist {
		total += b.n
	}
	if total == 0 {
		return 0
	}
	rank := p * float64(total-1)
	lo := int64(rank)
	vlo, vhi := valueAt(hist, lo), valueAt(hist, min(lo+1, total-1))
	return vlo + (rank-float64(lo))*(vhi-vlo)
}

// valueAt returns the k-th smallest value (0-based) of the histogram.
func valueAt(hist []lagBin, k int64) float64 {
	for _, b := range hist {
		if k < b.n {
			return float64(b.sec)
		}
		k -= b.n
	}
	return float64(hist[len(hist)-1].sec)
}

func topErrors(ctx context.Context, tx pgx.Tx, r *Report, opts Options) error {
	rows, err := tx.Query(ctx, topErrorsSQL, opts.Since, opts.Until, opts.TopErrors)
	if err != nil {
		return fmt.Errorf("query top errors: %w", err)
	}
	r.Health.TopErrors, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (ErrorCount, error) {
		var e ErrorCount
		return e, row.Scan(&e.Error, &e.Rows, &e.Messages, &e.Example)
	})
	if err != nil {
		return fmt.Errorf("query top errors: %w", err)
	}
	if r.Health.TopErrors == nil {
		r.Health.TopErrors = []ErrorCount{}
	}
	return nil
}
