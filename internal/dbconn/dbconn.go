// Package dbconn opens PostgreSQL connections from a database URL without
// ever letting the URL (and its password) into an error message.
package dbconn

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrBadURL reports a database URL that cannot be parsed. Its text never
// includes the URL.
var ErrBadURL = errors.New("database url cannot be parsed (check database.url or DATABASE_URL)")

// ParseConfig parses databaseURL into a connection config.
func ParseConfig(databaseURL string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, safeErr(err)
	}
	return cfg, nil
}

// OpenPool parses databaseURL, sets MaxConns when maxConns > 0 and opens a
// pool. It does not ping; the first query reports an unreachable server.
func OpenPool(ctx context.Context, databaseURL string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, safeErr(err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	return pool, nil
}

func safeErr(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return fmt.Errorf("%w: %v", ErrBadURL, pe.Unwrap())
	}
	return ErrBadURL
}

// WithDatabase returns databaseURL pointing at the database name instead
// (URL or key=value form).
func WithDatabase(databaseURL, name string) string {
	u, err := url.Parse(databaseURL)
	if err != nil || u.Scheme == "" {
		return databaseURL + " dbname=" + name
	}
	u.Path = "/" + name
	return u.String()
}
