// Command jobqueue is a calibration benchmark: "a well-tuned general job queue
// on the same work". It lets the outbox's drain figure (events/s) be compared
// with a general-purpose Go job queue, River, doing the same work on the same
// machine.
//
// It creates a fresh PostgreSQL database, runs River's migrations there, and
// inserts -jobs jobs (setup, not timed). Each job carries what one GA4
// purchase needs: a distinct client_id, a transaction id, value, currency, one
// item and a session id. It then starts a River client with one queue of
// -workers workers; each job builds the Measurement Protocol JSON body with
// encoding/json and POSTs it to a running Measurement Protocol emulator
// (-emulator) over a shared keep-alive HTTP client. A 2xx answer completes the
// job; anything else is an error, which River retries.
//
// Timing starts when the client starts and stops when River has reported every
// job completed (via its event subscription). The program then prints one
// line:
//
//	jobs=N workers=W elapsed=… jobs/s=… cpu-cores=…
//
// where cpu-cores is this process's user+sys CPU time divided by elapsed.
// The database is dropped at the end.
//
// Usage:
//
//	go run . -emulator http://127.0.0.1:9599 [-db URL] [-jobs 100000] [-workers 100] [-conns 8]
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

const (
	measurementID = "G-BENCH1234"
	apiSecret     = "bench-secret"
	insertChunk   = 10_000
	queueName     = river.QueueDefault
)

// PurchaseItem is one item of a GA4 purchase.
type PurchaseItem struct {
	ItemID   string  `json:"item_id"`
	Price    float64 `json:"price"`
	Quantity int     `json:"quantity"`
}

// PurchaseArgs are a job's args: what one GA4 purchase event needs.
type PurchaseArgs struct {
	ClientID      string         `json:"client_id"`
	TransactionID string         `json:"transaction_id"`
	Value         float64        `json:"value"`
	Currency      string         `json:"currency"`
	Items         []PurchaseItem `json:"items"`
	SessionID     int64          `json:"session_id"`
}

// Kind is River's job kind for PurchaseArgs.
func (PurchaseArgs) Kind() string { return "ga4_purchase" }

// mpBody is the Measurement Protocol request body.
type mpBody struct {
	ClientID        string    `json:"client_id"`
	TimestampMicros int64     `json:"timestamp_micros"`
	Events          []mpEvent `json:"events"`
}

type mpEvent struct {
	Name   string   `json:"name"`
	Params mpParams `json:"params"`
}

type mpParams struct {
	TransactionID      string         `json:"transaction_id"`
	Value              float64        `json:"value"`
	Currency           string         `json:"currency"`
	Items              []PurchaseItem `json:"items"`
	SessionID          int64          `json:"session_id"`
	EngagementTimeMsec int            `json:"engagement_time_msec"`
}

// PurchaseWorker sends one purchase to the Measurement Protocol endpoint.
type PurchaseWorker struct {
	river.WorkerDefaults[PurchaseArgs]
	client  *http.Client
	collect string
}

// Work builds the Measurement Protocol body and POSTs it. A non-2xx answer is
// an error, so River retries the job.
func (w *PurchaseWorker) Work(ctx context.Context, job *river.Job[PurchaseArgs]) error {
	a := job.Args
	body, err := json.Marshal(mpBody{
		ClientID:        a.ClientID,
		TimestampMicros: time.Now().UnixMicro(),
		Events: []mpEvent{{
			Name: "purchase",
			Params: mpParams{
				TransactionID:      a.TransactionID,
				Value:              a.Value,
				Currency:           a.Currency,
				Items:              a.Items,
				SessionID:          a.SessionID,
				EngagementTimeMsec: 100,
			},
		}},
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.collect, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	// Drain so the keep-alive connection is reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("measurement protocol answered %s", resp.Status)
	}
	return nil
}

func main() {
	dbURL := flag.String("db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL URL of an admin database (the bench creates and drops its own database)")
	jobs := flag.Int("jobs", 100_000, "number of jobs (one GA4 purchase each)")
	workers := flag.Int("workers", 100, "River MaxWorkers of the one queue")
	emulator := flag.String("emulator", "", "base URL of a running Measurement Protocol emulator, e.g. http://127.0.0.1:9411 (required)")
	conns := flag.Int("conns", 8, "pgx pool size")
	fetchCooldown := flag.Duration("fetch-cooldown", river.FetchCooldownMin, "River FetchCooldown (minimum time between fetches; River default 100ms caps throughput at about workers/100ms)")
	fetchPoll := flag.Duration("fetch-poll", 50*time.Millisecond, "River FetchPollInterval (fallback poll; River default 1s)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("jobqueue: ")

	if *emulator == "" {
		log.Fatal("-emulator is required (e.g. http://127.0.0.1:9411)")
	}
	if *jobs < 1 || *workers < 1 || *conns < 1 {
		log.Fatal("-jobs, -workers and -conns must be at least 1")
	}
	if err := run(*dbURL, *emulator, *jobs, *workers, *conns, *fetchCooldown, *fetchPoll); err != nil {
		log.Fatal(err)
	}
}

func run(adminURL, emulator string, jobs, workers, conns int, fetchCooldown, fetchPoll time.Duration) (err error) {
	ctx := context.Background()

	dbName, benchURL, err := benchDatabase(adminURL)
	if err != nil {
		return err
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect admin database: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, derr := admin.Exec(dctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)")
		if derr != nil {
			err = errors.Join(err, fmt.Errorf("drop database %s: %w", dbName, derr))
		}
	}()

	poolCfg, err := pgxpool.ParseConfig(benchURL)
	if err != nil {
		return err
	}
	poolCfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return fmt.Errorf("open pool: %w", err)
	}
	defer pool.Close()

	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}

	collect := strings.TrimRight(emulator, "/") + "/mp/collect?measurement_id=" +
		url.QueryEscape(measurementID) + "&api_secret=" + url.QueryEscape(apiSecret)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = workers
	transport.MaxIdleConnsPerHost = workers
	httpClient := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	defer transport.CloseIdleConnections()

	riverWorkers := river.NewWorkers()
	river.AddWorker(riverWorkers, &PurchaseWorker{client: httpClient, collect: collect})

	client, err := river.NewClient(driver, &river.Config{
		Queues: map[string]river.QueueConfig{
			queueName: {MaxWorkers: workers},
		},
		Workers:           riverWorkers,
		FetchCooldown:     fetchCooldown,
		FetchPollInterval: fetchPoll,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return fmt.Errorf("river client: %w", err)
	}

	// Setup, not timed: insert the jobs in chunks.
	sessionID := time.Now().Unix()
	params := make([]river.InsertManyParams, 0, insertChunk)
	for start := 0; start < jobs; start += insertChunk {
		params = params[:0]
		for i := start; i < min(start+insertChunk, jobs); i++ {
			params = append(params, river.InsertManyParams{Args: PurchaseArgs{
				ClientID:      strconv.Itoa(1_000_000+i) + ".1700000000",
				TransactionID: "T-" + strconv.Itoa(1_000_000+i),
				Value:         19.90,
				Currency:      "EUR",
				Items:         []PurchaseItem{{ItemID: "SKU-1", Price: 9.95, Quantity: 2}},
				SessionID:     sessionID,
			}})
		}
		if _, err := client.InsertManyFast(ctx, params); err != nil {
			return fmt.Errorf("insert jobs: %w", err)
		}
	}

	// Subscribe before starting, with a buffer large enough that no event is
	// dropped (River drops events a subscriber cannot take in time).
	events, cancelSub := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: jobs + 1024,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed},
	})
	defer cancelSub()

	var ru0 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru0); err != nil {
		return err
	}
	began := time.Now()
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}

	completed, failed := 0, 0
	lastFailure := ""
	for completed < jobs {
		ev, ok := <-events
		if !ok {
			return fmt.Errorf("event subscription closed after %d of %d jobs completed", completed, jobs)
		}
		switch ev.Kind {
		case river.EventKindJobCompleted:
			completed++
		case river.EventKindJobFailed:
			failed++
			if n := len(ev.Job.Errors); n > 0 {
				lastFailure = ev.Job.Errors[n-1].Error
			}
		}
	}
	elapsed := time.Since(began)
	var ru1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru1); err != nil {
		return err
	}

	stopCtx, cancelStop := context.WithTimeout(ctx, 30*time.Second)
	defer cancelStop()
	if err := client.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop river: %w", err)
	}

	cpu := tvDuration(ru1.Utime) - tvDuration(ru0.Utime) + tvDuration(ru1.Stime) - tvDuration(ru0.Stime)
	fmt.Printf("jobs=%d workers=%d elapsed=%s jobs/s=%.0f cpu-cores=%.2f\n",
		jobs, workers, elapsed.Round(time.Millisecond),
		float64(jobs)/elapsed.Seconds(), cpu.Seconds()/elapsed.Seconds())
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "jobqueue: %d failed attempts were retried (last error: %s)\n", failed, lastFailure)
	}
	return nil
}

// benchDatabase returns a fresh database name and adminURL pointed at it.
func benchDatabase(adminURL string) (name, benchURL string, err error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", err
	}
	name = "jobqueue_bench_" + hex.EncodeToString(b[:])
	if _, err := pgx.ParseConfig(adminURL); err != nil {
		return "", "", fmt.Errorf("parse -db: %w", err)
	}
	u, err := url.Parse(adminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", "", fmt.Errorf("-db must be a postgres:// URL, got %q", adminURL)
	}
	u.Path = "/" + name
	return name, u.String(), nil
}

func tvDuration(tv syscall.Timeval) time.Duration {
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond
}
