package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// createDatabase creates a fresh database on the admin URL's server and
// returns its URL and a func that drops it.
func createDatabase(ctx context.Context, adminURL string) (string, func(), error) {
	name := "ga4o_chaos_" + randomHex(6)
	if err := adminExec(ctx, adminURL, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, errors.New("database url cannot be parsed")
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = adminExec(ctx, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

func adminExec(ctx context.Context, adminURL, sql string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return errors.New("cannot connect to the server named by -database-url")
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// restartPostgres restarts the cluster with pg_ctlcluster. It returns what
// happened in one line: "restarted in 1.2s" or why it was skipped.
func restartPostgres(ctx context.Context, cluster string) (string, bool) {
	parts := strings.Fields(cluster)
	if len(parts) != 2 {
		return "skipped: -pg-cluster must be \"<version> <name>\"", false
	}
	path, err := exec.LookPath("pg_ctlcluster")
	if err != nil {
		return "skipped: pg_ctlcluster not found, the test cannot control the server", false
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, path, "--skip-systemctl-redirect", parts[0], parts[1], "restart").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("skipped: pg_ctlcluster failed (%v): %s", err, strings.TrimSpace(string(out))), false
	}
	return fmt.Sprintf("restarted in %.1fs", time.Since(start).Seconds()), true
}
