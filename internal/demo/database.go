package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
	"github.com/ga4-outbox/ga4-outbox/internal/pgcontainer"
)

// LocalURL is the PostgreSQL the demo tries when DATABASE_URL is unset.
const LocalURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ErrNoServer says that no PostgreSQL could be found or started.
var ErrNoServer = errors.New("the demo needs PostgreSQL: set DATABASE_URL (a user that may CREATE DATABASE), " +
	"or run PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres, or make Docker reachable for testcontainers")

// Server finds a PostgreSQL server for the demo: DATABASE_URL when set, else
// the local server on 127.0.0.1:5432 when it answers, else a container
// started with testcontainers-go when Docker is reachable. how says which;
// stop (never nil) removes a started container.
func Server(ctx context.Context, getenv func(string) string) (adminURL, how string, stop func(), err error) {
	noop := func() {}
	if u := getenv("DATABASE_URL"); u != "" {
		return u, "DATABASE_URL", noop, nil
	}
	if c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", "127.0.0.1:5432"); err == nil {
		c.Close()
		return LocalURL, "local PostgreSQL on 127.0.0.1:5432", noop, nil
	}
	if !pgcontainer.DockerReachable(getenv) {
		return "", "", noop, ErrNoServer
	}
	return startContainer(ctx)
}

func startContainer(ctx context.Context) (string, string, func(), error) {
	u, stop, err := pgcontainer.Start(ctx)
	if err != nil {
		return "", "", stop, fmt.Errorf("%w (%v)", ErrNoServer, err)
	}
	return u, "a PostgreSQL container (testcontainers-go)", stop, nil
}

var dbNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// CreateDatabase drops the database name on the server (when it exists),
// creates it afresh, applies the ga4_outbox migrations and returns its URL.
// Nothing else on the server is touched.
func CreateDatabase(ctx context.Context, adminURL, name string) (string, error) {
	if !dbNameRe.MatchString(name) {
		return "", fmt.Errorf("database name %q: must be lower-case letters, digits and _", name)
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to the demo's server: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, sql := range []string{`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`, `CREATE DATABASE ` + name} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return "", fmt.Errorf("recreate database %s: %w", name, err)
		}
	}
	dbURL := dbconn.WithDatabase(adminURL, name)
	m, err := dbmigrate.New(ctx, dbURL)
	if err != nil {
		return "", err
	}
	upErr := m.Up()
	if err := errors.Join(upErr, m.Close()); err != nil && !errors.Is(upErr, dbmigrate.ErrNoChange) {
		return "", err
	}
	return dbURL, nil
}

// DropDatabase removes the demo database.
func DropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	return err
}
