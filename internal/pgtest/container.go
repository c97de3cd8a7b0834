package pgtest

import (
	"context"
	"time"

	"github.com/ga4-outbox/ga4-outbox/internal/pgcontainer"
)

// startContainer starts PostgreSQL with testcontainers-go when a Docker
// daemon is reachable (the tests may link it; the sidecar's binary does not). The container lives as long as the test binary
// (Ryuk removes it afterwards). It returns the admin URL, or "" and why not.
func startContainer() (url, why string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	u, _, err := pgcontainer.Start(ctx)
	if err != nil {
		return "", err.Error()
	}
	return u, ""
}
