package demo

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
	"github.com/ga4-outbox/ga4-outbox/internal/pgcluster"
)

// ErrNoServer says that no PostgreSQL could be found or started.
var ErrNoServer = errors.New("the demo needs PostgreSQL: set DATABASE_URL (a user that may CREATE DATABASE), " +
	"or run PostgreSQL on 127.0.0.1:5432 with trust auth for user postgres, or install the server binaries")

// StartFunc starts a throwaway PostgreSQL and returns the URL of its
// postgres database and a function that removes it. The container fallback
// has this shape; it is only linked into binaries built with -tags
// containers, so the default binary carries no container runtime.
type StartFunc func(ctx context.Context) (url string, stop func(), err error)

// Found is the server the demo runs on.
type Found struct {
	// AdminURL reaches a database on the server as a user that may create
	// databases.
	AdminURL string
	// How says where the server came from, for the demo's first line.
	How string
	// Throwaway is true when the server is removed when the demo ends.
	Throwaway bool
	// Stop removes a started server; never nil.
	Stop func()
}

// Server finds a PostgreSQL server for the demo: DATABASE_URL when set,
// else the local server when it answers on pgcluster.ProbeAddr
// (127.0.0.1:5432), else container when it is not nil and starts, else a
// throwaway cluster from the local server binaries (internal/pgcluster).
func Server(ctx context.Context, getenv func(string) string, container StartFunc) (Found, error) {
	noop := func() {}
	if u := getenv("DATABASE_URL"); u != "" {
		return Found{AdminURL: u, How: "DATABASE_URL", Stop: noop}, nil
	}
	if addr := pgcluster.ProbeAddr(getenv); pgcluster.Answers(ctx, addr) {
		return Found{AdminURL: pgcluster.ProbeURL(addr), How: "local PostgreSQL on " + addr, Stop: noop}, nil
	}
	var containerErr error
	if container != nil {
		u, stop, err := container(ctx)
		if err == nil {
			return Found{AdminURL: u, How: "a PostgreSQL container (testcontainers-go)", Throwaway: true, Stop: stop}, nil
		}
		containerErr = fmt.Errorf("container: %w", err)
	}
	c, err := startCluster(ctx, getenv)
	if err != nil {
		return Found{Stop: noop}, fmt.Errorf("%w: %w", ErrNoServer, errors.Join(containerErr, err))
	}
	how := fmt.Sprintf("a throwaway cluster from %s in %s (removed when the demo ends)", c.BinDir, c.Dir)
	return Found{AdminURL: c.URL, How: how, Throwaway: true, Stop: func() { _ = c.Stop() }}, nil
}

func startCluster(ctx context.Context, getenv func(string) string) (*pgcluster.Cluster, error) {
	bin, err := pgcluster.FindBinDir(getenv)
	if err != nil {
		return nil, err
	}
	return pgcluster.Start(ctx, &pgcluster.Options{BinDir: bin})
}

var dbNameRe = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Mark is the comment the demo puts on the databases it creates; it drops
// only databases that carry it, unless forced.
const Mark = "created by ga4-outbox demo"

// ErrNotDemoDatabase says that the database exists and was not created by
// the demo, so it is not dropped without force.
var ErrNotDemoDatabase = errors.New("exists and was not created by the demo")

// CreateDatabase drops the database name on the server when it exists and
// carries Mark (any database when force), creates it afresh with Mark,
// applies the ga4_outbox migrations and returns its URL. Nothing else on
// the server is touched.
func CreateDatabase(ctx context.Context, adminURL, name string, force bool) (string, error) {
	if !dbNameRe.MatchString(name) {
		return "", fmt.Errorf("database name %q: must be lower-case letters, digits and _", name)
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to the demo's server: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var comment *string
	err = conn.QueryRow(ctx, `SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1`, name).Scan(&comment)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return "", fmt.Errorf("look up database %s: %w", name, err)
	case !force && (comment == nil || *comment != Mark):
		return "", fmt.Errorf("database %s %w (its comment is not %q): choose another --database, or pass --force to drop it", name, ErrNotDemoDatabase, Mark)
	}
	for _, sql := range []string{
		`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`,
		`CREATE DATABASE ` + name,
		`COMMENT ON DATABASE ` + name + ` IS '` + Mark + `'`,
	} {
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
