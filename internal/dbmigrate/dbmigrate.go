// Package dbmigrate applies the embedded migrations with golang-migrate. It
// is the one place that imports golang-migrate; the migrate subcommand, the
// run command's readiness check and internal/pgtest all go through it.
package dbmigrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/migrations"
)

// ErrNoChange reports that there was nothing to apply. Callers treat it as
// success; it is returned only so a command can say "already up to date".
var ErrNoChange = migrate.ErrNoChange

// Migrator applies the ga4_outbox migrations to one database.
type Migrator struct {
	m  *migrate.Migrate
	db *sql.DB
}

// New connects to databaseURL, creates the ga4_outbox schema when it is
// missing and prepares golang-migrate with its version table inside that
// schema. Close it when done.
func New(ctx context.Context, databaseURL string) (*Migrator, error) {
	cfg, err := dbconn.ParseConfig(databaseURL)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+migrations.Schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("create schema %s: %w", migrations.Schema, err)
	}
	driver, err := migratepgx.WithInstance(db, &migratepgx.Config{
		SchemaName:      migrations.Schema,
		MigrationsTable: migrations.Table,
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open migration driver: %w", err)
	}
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open embedded migrations: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", stepDriver{driver})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare migrations: %w", err)
	}
	return &Migrator{m: m, db: db}, nil
}

// Up applies every pending migration. ErrNoChange means the schema was
// already current.
func (m *Migrator) Up() error { return wrap("migrate up", m.m.Up()) }

// Steps applies n migrations forward (n > 0) or reverts -n (n < 0).
func (m *Migrator) Steps(n int) error { return wrap("migrate steps", m.m.Steps(n)) }

// Down reverts every applied migration. The schema and the version table
// remain.
func (m *Migrator) Down() error { return wrap("migrate down", m.m.Down()) }

// Force sets the recorded version without running anything and clears the
// dirty flag, for recovery after a failed migration.
func (m *Migrator) Force(version int) error { return wrap("migrate force", m.m.Force(version)) }

// Version returns the applied version, whether it is dirty, and 0 when
// nothing has been applied yet.
func (m *Migrator) Version() (version uint, dirty bool, err error) {
	version, dirty, err = m.m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read migration version: %w", err)
	}
	return version, dirty, nil
}

// sqlAppliedVersion reads golang-migrate's version row.
const sqlAppliedVersion = `SELECT version, dirty FROM ` + migrations.Schema + `.` + migrations.Table + ` LIMIT 1`

// Applied reads the applied version the way Version does (0 when nothing
// has been applied yet), but with one query on db, a *pgxpool.Pool, a
// *pgx.Conn or a pgx.Tx, without preparing golang-migrate: the run
// command's readiness check. A database without the ga4_outbox schema
// returns the PostgreSQL error (undefined table).
func Applied(ctx context.Context, db interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (version uint, dirty bool, err error) {
	var v int64
	err = db.QueryRow(ctx, sqlAppliedVersion).Scan(&v, &dirty)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("read migration version: %w", err)
	}
	return uint(v), dirty, nil
}

// sqlVersionTableExists says whether golang-migrate's version table exists.
const sqlVersionTableExists = `SELECT to_regclass('` + migrations.Schema + `.` + migrations.Table + `') IS NOT NULL`

// ReadVersion is Applied for a database that may not have the schema yet:
// installed is false when the version table does not exist. It only reads,
// unlike New, which creates the schema: the migrate version command.
func ReadVersion(ctx context.Context, db interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}) (version uint, dirty, installed bool, err error) {
	if err := db.QueryRow(ctx, sqlVersionTableExists).Scan(&installed); err != nil {
		return 0, false, false, fmt.Errorf("look up the migration version table: %w", err)
	}
	if !installed {
		return 0, false, false, nil
	}
	version, dirty, err = Applied(ctx, db)
	return version, dirty, true, err
}

// Close releases the migrator's connections.
func (m *Migrator) Close() error {
	srcErr, dbErr := m.m.Close()
	return errors.Join(srcErr, dbErr, m.db.Close())
}

// Latest returns the highest version among the embedded migrations: the
// version a ready sidecar expects.
func Latest() uint {
	var latest uint
	entries, _ := fs.ReadDir(migrations.FS, ".")
	for _, e := range entries {
		head, _, ok := strings.Cut(e.Name(), "_")
		if !ok {
			continue
		}
		if v, err := strconv.ParseUint(head, 10, 32); err == nil && uint(v) > latest {
			latest = uint(v)
		}
	}
	return latest
}

func wrap(op string, err error) error {
	if err == nil || errors.Is(err, migrate.ErrNoChange) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
