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
// job; anything else is an error, which River retries. The client is a clone
// of net/http's default transport: against an https:// emulator it speaks
// HTTP/2 (ALPN) and trusts the system roots, so SSL_CERT_FILE=emulator.pem
// makes it trust the emulator's self-signed certificate.
//
// Timing starts when the client starts and stops when River has reported every
// job completed (via its event subscription). The program then prints one
// line:
//
//	jobs=N workers=W elapsed=… jobs/s=… cpu-cores=… tcp-conns=… http2-requests=…
//
// where cpu-cores is this process's user+sys CPU time divided by elapsed,
// tcp-conns the TCP connections the HTTP client dialled and http2-requests
// the requests answered over HTTP/2.
// The database is dropped at the end.
//
// Usage:
//
//	go run . -emulator http://127.0.0.1:9599 [-db URL] [-jobs 100000] [-workers 100] [-conns 8]
//	SSL_CERT_FILE=emulator.pem go run . -emulator https://127.0.0.1:9599 -workers 200
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
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
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
	http2   *atomic.Int64 // requests answered over HTTP/2
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
	if resp.ProtoMajor == 2 {
		w.http2.Add(1)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("measurement protocol answered %s", resp.Status)
	}
	return nil
}

// settings are the command line flags.
type settings struct {
	adminURL, emulator       string
	jobs, workers, conns     int
	fetchCooldown, fetchPoll time.Duration
}

func main() {
	var s settings
	flag.StringVar(&s.adminURL, "db", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "PostgreSQL URL of an admin database (the bench creates and drops its own database)")
	flag.IntVar(&s.jobs, "jobs", 100_000, "number of jobs (one GA4 purchase each)")
	flag.IntVar(&s.workers, "workers", 100, "River MaxWorkers of the one queue")
	flag.StringVar(&s.emulator, "emulator", "", "base URL of a running Measurement Protocol emulator, e.g. http://127.0.0.1:9411, or https://... with SSL_CERT_FILE naming its certificate (required)")
	flag.IntVar(&s.conns, "conns", 8, "pgx pool size")
	flag.DurationVar(&s.fetchCooldown, "fetch-cooldown", river.FetchCooldownMin, "River FetchCooldown (minimum time between fetches; River default 100ms caps throughput at about workers/100ms)")
	flag.DurationVar(&s.fetchPoll, "fetch-poll", 50*time.Millisecond, "River FetchPollInterval (fallback poll; River default 1s)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("jobqueue: ")

	if s.emulator == "" {
		log.Fatal("-emulator is required (e.g. http://127.0.0.1:9411)")
	}
	if s.jobs < 1 || s.workers < 1 || s.conns < 1 {
		log.Fatal("-jobs, -workers and -conns must be at least 1")
	}
	if err := run(context.Background(), s); err != nil {
		log.Fatal(err)
	}
}

// run sets up a fresh database with s.jobs jobs, times River through them
// and prints the result line.
func run(ctx context.Context, s settings) (err error) {
	pool, drop, err := openBenchDatabase(ctx, s.adminURL, s.conns)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, drop()) }()
	defer pool.Close()

	driver := riverpgxv5.New(pool)
	migrator, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	transport, counts := newTransport(s.workers)
	defer transport.CloseIdleConnections()
	client, err := newClient(driver, s, &http.Client{Transport: transport, Timeout: 30 * time.Second}, &counts.http2)
	if err != nil {
		return err
	}
	if err := insertJobs(ctx, client, s.jobs); err != nil {
		return err
	}
	return timeJobs(ctx, client, s, counts)
}

// httpCounts are what the HTTP client did: TCP connections dialled and
// requests answered over HTTP/2.
type httpCounts struct{ dialled, http2 atomic.Int64 }

// newTransport clones net/http's default transport (HTTP/2 by ALPN over
// TLS, system roots, so SSL_CERT_FILE is honoured), keeps up to workers
// idle connections and counts the connections it dials.
func newTransport(workers int) (*http.Transport, *httpCounts) {
	counts := &httpCounts{}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = workers
	transport.MaxIdleConnsPerHost = workers
	dial := transport.DialContext
	transport.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err == nil {
			counts.dialled.Add(1)
		}
		return c, err
	}
	return transport, counts
}

// openBenchDatabase creates a fresh database next to adminURL's and opens
// a pool of conns connections on it; drop removes the database.
func openBenchDatabase(ctx context.Context, adminURL string, conns int) (pool *pgxpool.Pool, drop func() error, err error) {
	dbName, benchURL, err := benchDatabase(adminURL)
	if err != nil {
		return nil, nil, err
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, nil, fmt.Errorf("connect admin database: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{dbName}.Sanitize()); err != nil {
		admin.Close(ctx)
		return nil, nil, fmt.Errorf("create database: %w", err)
	}
	drop = func() error {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		defer admin.Close(dctx)
		if _, err := admin.Exec(dctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop database %s: %w", dbName, err)
		}
		return nil
	}
	poolCfg, err := pgxpool.ParseConfig(benchURL)
	if err == nil {
		poolCfg.MaxConns = int32(conns)
		pool, err = pgxpool.NewWithConfig(ctx, poolCfg)
	}
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("open pool: %w", err), drop())
	}
	return pool, drop, nil
}

// newClient makes the River client: one queue of s.workers workers
// running PurchaseWorker against the emulator.
func newClient(driver *riverpgxv5.Driver, s settings, httpClient *http.Client, http2 *atomic.Int64) (*river.Client[pgx.Tx], error) {
	collect := strings.TrimRight(s.emulator, "/") + "/mp/collect?measurement_id=" +
		url.QueryEscape(measurementID) + "&api_secret=" + url.QueryEscape(apiSecret)
	riverWorkers := river.NewWorkers()
	river.AddWorker(riverWorkers, &PurchaseWorker{client: httpClient, collect: collect, http2: http2})
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{queueName: {MaxWorkers: s.workers}},
		Workers:           riverWorkers,
		FetchCooldown:     s.fetchCooldown,
		FetchPollInterval: s.fetchPoll,
		Logger:            slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}

// insertJobs inserts the jobs in chunks (setup, not timed).
func insertJobs(ctx context.Context, client *river.Client[pgx.Tx], jobs int) error {
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
	return nil
}

// timeJobs starts the client, waits until River reports every job
// completed, stops it and prints the result line.
func timeJobs(ctx context.Context, client *river.Client[pgx.Tx], s settings, counts *httpCounts) error {
	// Subscribe before starting, with a buffer large enough that no event is
	// dropped (River drops events a subscriber cannot take in time).
	events, cancelSub := client.SubscribeConfig(&river.SubscribeConfig{
		ChanSize: s.jobs + 1024,
		Kinds:    []river.EventKind{river.EventKindJobCompleted, river.EventKindJobFailed},
	})
	defer cancelSub()

	var ru0, ru1 syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru0); err != nil {
		return err
	}
	began := time.Now()
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("start river: %w", err)
	}
	failed, lastFailure, err := awaitCompleted(events, s.jobs)
	if err != nil {
		return err
	}
	elapsed := time.Since(began)
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru1); err != nil {
		return err
	}

	stopCtx, cancelStop := context.WithTimeout(ctx, 30*time.Second)
	defer cancelStop()
	if err := client.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop river: %w", err)
	}

	cpu := tvDuration(ru1.Utime) - tvDuration(ru0.Utime) + tvDuration(ru1.Stime) - tvDuration(ru0.Stime)
	fmt.Printf("jobs=%d workers=%d elapsed=%s jobs/s=%.0f cpu-cores=%.2f tcp-conns=%d http2-requests=%d\n",
		s.jobs, s.workers, elapsed.Round(time.Millisecond),
		float64(s.jobs)/elapsed.Seconds(), cpu.Seconds()/elapsed.Seconds(),
		counts.dialled.Load(), counts.http2.Load())
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "jobqueue: %d failed attempts were retried (last error: %s)\n", failed, lastFailure)
	}
	return nil
}

// awaitCompleted reads job events until jobs have completed; it counts the
// failed attempts (River retries them) and keeps the last one's error.
func awaitCompleted(events <-chan *river.Event, jobs int) (failed int, lastFailure string, err error) {
	for completed := 0; completed < jobs; {
		ev, ok := <-events
		if !ok {
			return failed, lastFailure, fmt.Errorf("event subscription closed after %d of %d jobs completed", completed, jobs)
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
	return failed, lastFailure, nil
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
