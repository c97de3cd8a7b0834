package pgcluster

import (
	"context"
	"net"
	"time"
)

// DefaultProbeAddr is where a local PostgreSQL usually answers.
const DefaultProbeAddr = "127.0.0.1:5432"

// EnvProbeAddr names the variable that replaces DefaultProbeAddr.
const EnvProbeAddr = "GA4_OUTBOX_PG_PROBE"

// ProbeAddr returns $GA4_OUTBOX_PG_PROBE, else DefaultProbeAddr. getenv may
// be nil (os.Getenv is not consulted then).
func ProbeAddr(getenv func(string) string) string {
	if getenv != nil {
		if a := getenv(EnvProbeAddr); a != "" {
			return a
		}
	}
	return DefaultProbeAddr
}

// ProbeURL is the URL callers use for a server answering on addr: user
// postgres, database postgres, no TLS (a local server with trust auth).
func ProbeURL(addr string) string {
	return "postgres://postgres@" + addr + "/postgres?sslmode=disable"
}

// Answers reports whether something accepts TCP connections on addr within
// a second.
func Answers(ctx context.Context, addr string) bool {
	c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
