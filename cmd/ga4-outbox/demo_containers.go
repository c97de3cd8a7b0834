//go:build containers

package main

import "github.com/ga4-outbox/ga4-outbox/internal/pgcontainer"

// Built with -tags containers, the demo may start PostgreSQL in a Docker
// container (testcontainers-go) before it tries the local server binaries.
func init() { demoContainer = pgcontainer.Start }
