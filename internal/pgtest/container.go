package pgtest

import (
	"context"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// startContainer starts PostgreSQL with testcontainers-go when a Docker
// daemon is reachable. The container lives as long as the test binary
// (Ryuk removes it afterwards). It returns the admin URL, or "" and why not.
func startContainer() (url, why string) {
	if os.Getenv("DOCKER_HOST") == "" {
		if _, err := os.Stat("/var/run/docker.sock"); err != nil {
			return "", "no Docker daemon (no DOCKER_HOST, no /var/run/docker.sock)"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := tcpostgres.Run(ctx, "postgres:16-alpine",
		tcpostgres.WithDatabase("postgres"),
		tcpostgres.WithUsername("postgres"),
		tcpostgres.WithPassword("postgres"),
		testcontainers.WithWaitStrategy(wait.ForLog("database system is ready to accept connections").
			WithOccurrence(2).WithStartupTimeout(2*time.Minute)),
	)
	if err != nil {
		return "", "starting a PostgreSQL container failed: " + err.Error()
	}
	u, err := c.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		return "", "reading the container's address failed: " + err.Error()
	}
	return u, ""
}
