package main

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyURL(t)
	env := map[string]string{"DATABASE_URL": url}

	r := runCmd(t, env, "migrate", "up")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "schema ga4_outbox at version")

	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var exists bool
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT to_regclass('ga4_outbox.events') IS NOT NULL`).Scan(&exists))
	require.True(t, exists)

	r = runCmd(t, env, "migrate", "up")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "(no change)")

	r = runCmd(t, env, "migrate", "down")
	require.Equal(t, 2, r.code, "down without N or -all must refuse")
	require.Contains(t, r.stderr, "-all")

	r = runCmd(t, env, "migrate", "down", "-all")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "at version 0")

	r = runCmd(t, env, "migrate", "-all", "down")
	require.Equal(t, 0, r.code, r.stderr)

	r = runCmd(t, env, "migrate", "up")
	require.Equal(t, 0, r.code, r.stderr)
	r = runCmd(t, env, "migrate", "version")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "at version")

	r = runCmd(t, env, "migrate", "down", "1")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stdout, fmt.Sprintf("at version %d of", dbmigrate.Latest()), "down 1 reverts the newest migration")

	r = runCmd(t, env, "migrate", "force", "1")
	require.Equal(t, 0, r.code, r.stderr)

	r = runCmd(t, env, "migrate", "sideways")
	require.Equal(t, 2, r.code)
}

// TestMigrateVersionOnlyReads: migrate version on a fresh database says
// nothing is installed and creates neither the schema nor the version table.
func TestMigrateVersionOnlyReads(t *testing.T) {
	t.Parallel()
	url := pgtest.EmptyURL(t)
	env := map[string]string{"DATABASE_URL": url}

	r := runCmd(t, env, "migrate", "version")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "not installed yet (version 0 of")

	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var schemaExists bool
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT to_regnamespace('ga4_outbox') IS NOT NULL`).Scan(&schemaExists))
	require.False(t, schemaExists, "migrate version must not create schema ga4_outbox")

	require.Equal(t, 0, runCmd(t, env, "migrate", "up").code)
	r = runCmd(t, env, "migrate", "version")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("schema ga4_outbox at version %d of %d\n", dbmigrate.Latest(), dbmigrate.Latest()))
}

func TestMigrateBadDatabaseURL(t *testing.T) {
	t.Parallel()
	r := runCmd(t, map[string]string{"DATABASE_URL": "postgres://u:hunter2@[::1"}, "migrate", "up")
	require.Equal(t, 1, r.code)
	require.NotContains(t, r.stderr, "hunter2")
	require.Contains(t, r.stderr, "database url")
}

// TestMigrateUpWarnsOfConflictTarget: an upgrade across version 12 of a
// schema in use says that INSERTs naming the old conflict target fail after
// it; a fresh install and an up-to-date schema say nothing.
func TestMigrateUpWarnsOfConflictTarget(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": pgtest.EmptyURL(t)}
	const warning = "ON CONFLICT DO NOTHING first"

	r := runCmd(t, env, "migrate", "up")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stderr, warning, "a fresh install has no INSERTs to change")

	r = runCmd(t, env, "migrate", "down", strconv.Itoa(int(dbmigrate.Latest())-(conflictTargetVersion-1)))
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf("at version %d of", conflictTargetVersion-1))

	r = runCmd(t, env, "migrate", "up")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, warning)
	require.Contains(t, r.stderr, "docs/REFUNDS.md")

	r = runCmd(t, env, "migrate", "up")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stderr, warning)
}
