package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
)

// probeTimeout bounds one readiness check.
const probeTimeout = 2 * time.Second

// healthServer serves /metrics, /healthz and /readyz for the run command.
type healthServer struct {
	srv  *http.Server
	addr string // the bound address (a ":0" port resolved)
	done chan error
}

// newMetricsRegistry returns a registry with the Go and process collectors.
func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// startHealthServer listens on addr and serves in the background.
// /healthz answers 200 while the process runs; /readyz answers 200 when
// ready(ctx) returns nil, else 503 with the reason.
func startHealthServer(addr string, reg *prometheus.Registry, ready func(context.Context) error, logger *slog.Logger) (*healthServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics server: listen on %s (metrics.addr): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	h := &healthServer{
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		addr: ln.Addr().String(),
		done: make(chan error, 1),
	}
	go func() { h.done <- h.srv.Serve(ln) }()
	logger.Info("metrics server listening", "addr", h.addr)
	return h, nil
}

// shutdown stops accepting requests and waits for running ones (bounded by
// ctx).
func (h *healthServer) shutdown(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	if serveErr := <-h.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// schemaReady returns nil when the database answers and its ga4_outbox
// schema is at the version this binary was built for.
func schemaReady(pool *pgxpool.Pool) func(context.Context) error {
	return func(ctx context.Context) error {
		version, dirty, err := dbmigrate.Applied(ctx, pool)
		switch {
		case err != nil:
			return fmt.Errorf("database: %w", explainMissingSchema(err))
		case dirty:
			return fmt.Errorf("schema ga4_outbox is dirty at version %d (a migration failed; see ga4-outbox migrate force)", version)
		case version == 0:
			return fmt.Errorf("schema ga4_outbox has no migration applied (run ga4-outbox migrate up)")
		case version != dbmigrate.Latest():
			return fmt.Errorf("schema ga4_outbox is at version %d, this binary needs %d (run ga4-outbox migrate up)", version, dbmigrate.Latest())
		}
		return nil
	}
}
