// Package pgcontainer starts a throwaway PostgreSQL with testcontainers-go,
// for the machines that have Docker but no PostgreSQL: the tests'
// fallback (internal/pgtest) and the demo's. It is the one place that
// imports testcontainers-go.
package pgcontainer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Image is the PostgreSQL image started.
const Image = "postgres:16-alpine"

// ErrNoDocker says that no Docker daemon is reachable.
var ErrNoDocker = errors.New("no Docker daemon (no DOCKER_HOST, no /var/run/docker.sock)")

// DockerReachable reports whether a Docker daemon may be reachable:
// DOCKER_HOST is set or the default socket exists.
func DockerReachable(getenv func(string) string) bool {
	if getenv("DOCKER_HOST") != "" {
		return true
	}
	_, err := os.Stat("/var/run/docker.sock")
	return err == nil
}

// Start runs PostgreSQL in a container (user and password postgres) and
// returns the URL of its postgres database and a stop function that removes
// the container. Startup is bounded by two minutes.
func Start(ctx context.Context) (url string, stop func(), err error) {
	if !DockerReachable(os.Getenv) {
		return "", func() {}, ErrNoDocker
	}
	c, err := tcpostgres.Run(ctx, Image,
		tcpostgres.WithDatabase("postgres"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		testcontainers.WithWaitStrategy(wait.ForLog("database system is ready to accept connections").
			WithOccurrence(2).WithStartupTimeout(2*time.Minute)))
	if err != nil {
		return "", func() {}, fmt.Errorf("start a PostgreSQL container: %w", err)
	}
	stop = func() { _ = testcontainers.TerminateContainer(c) }
	url, err = c.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		stop()
		return "", func() {}, fmt.Errorf("read the container's address: %w", err)
	}
	return url, stop, nil
}
