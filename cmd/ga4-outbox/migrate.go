package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
)

const migrateUsage = `up | down [N] [-all] | version | force V

  up         apply every pending migration
  down N     revert the last N migrations
  down -all  revert every migration (the schema and version table remain)
  version    print the applied version (reads only: creates nothing)
  force V    set the version without running anything (after a failed migration)`

func runMigrate(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "migrate", migrateUsage)
	all := fs.Bool("all", false, "with down: revert every migration")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	args := fs.Args()
	if len(args) == 0 {
		fs.Usage()
		return usageError{errors.New("migrate: missing action (up, down, version or force)")}
	}
	action, rest := args[0], args[1:]
	if action == "down" && len(rest) > 0 && rest[len(rest)-1] == "-all" { // "down -all" after the action
		*all, rest = true, rest[:len(rest)-1]
	}
	cfg, err := loadConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	if action == "version" && len(rest) == 0 {
		return migrateVersion(ctx, e, cfg.Database.URL)
	}
	m, err := dbmigrate.New(ctx, cfg.Database.URL)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer m.Close()
	return migrateAction(e, m, action, rest, *all)
}

func migrateAction(e *env, m *dbmigrate.Migrator, action string, rest []string, all bool) error {
	switch {
	case action == "up" && len(rest) == 0:
		warnConflictTarget(e, m)
		return report(e, m, m.Up())
	case action == "down" && len(rest) == 1 && !all:
		n, err := strconv.Atoi(rest[0])
		if err != nil || n <= 0 {
			return usageError{fmt.Errorf("migrate down: %q is not a positive number of migrations", rest[0])}
		}
		return report(e, m, m.Steps(-n))
	case action == "down" && len(rest) == 0 && all:
		return report(e, m, m.Down())
	case action == "down" && len(rest) == 0:
		return usageError{errors.New("migrate down: give a number of migrations (down 1) or -all to revert everything")}
	case action == "force" && len(rest) == 1:
		v, err := strconv.Atoi(rest[0])
		if err != nil || v < -1 {
			return usageError{fmt.Errorf("migrate force: %q is not a version", rest[0])}
		}
		return report(e, m, m.Force(v))
	}
	return usageError{fmt.Errorf("migrate: unknown action or wrong arguments: %q %q", action, rest)}
}

// migrateVersion prints the applied version without preparing
// golang-migrate, which would create the schema and its version table.
func migrateVersion(ctx context.Context, e *env, databaseURL string) error {
	cfg, err := dbconn.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("migrate version: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("migrate version: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	v, dirty, installed, err := dbmigrate.ReadVersion(ctx, conn)
	if err != nil {
		return fmt.Errorf("migrate version: %w", err)
	}
	if !installed {
		fmt.Fprintf(e.stdout, "schema ga4_outbox not installed yet (version 0 of %d): run migrate up\n", dbmigrate.Latest())
		return nil
	}
	printVersion(e, v, dirty, "")
	return nil
}

// conflictTargetVersion is the version from which version 11's conflict
// target, ON CONFLICT (event_name, transaction_id) with its WHERE clause, no
// longer matches an index (refunds: docs/REFUNDS.md).
const conflictTargetVersion = 12

// warnConflictTarget tells, before an upgrade across conflictTargetVersion of
// a schema already in use, that plain-SQL INSERTs naming the old conflict
// target fail after it. A fresh install has no such INSERT yet.
func warnConflictTarget(e *env, m *dbmigrate.Migrator) {
	v, _, err := m.Version()
	if err != nil || v == 0 || v >= conflictTargetVersion {
		return
	}
	fmt.Fprintf(e.stderr, "migrate up: from version %d, INSERTs that name ON CONFLICT (event_name, transaction_id) "+
		"fail (no matching index): write ON CONFLICT DO NOTHING first; docs/REFUNDS.md, \"Upgrading to version %d\"\n",
		conflictTargetVersion, conflictTargetVersion)
}

func report(e *env, m *dbmigrate.Migrator, opErr error) error {
	if opErr != nil && !errors.Is(opErr, dbmigrate.ErrNoChange) {
		return opErr
	}
	v, dirty, err := m.Version()
	if err != nil {
		return err
	}
	note := ""
	if errors.Is(opErr, dbmigrate.ErrNoChange) {
		note = " (no change)"
	}
	printVersion(e, v, dirty, note)
	return nil
}

func printVersion(e *env, v uint, dirty bool, note string) {
	if dirty {
		note += " (dirty: fix the cause, then migrate force " + strconv.Itoa(int(v)) + ")"
	}
	fmt.Fprintf(e.stdout, "schema ga4_outbox at version %d of %d%s\n", v, dbmigrate.Latest(), note)
}
