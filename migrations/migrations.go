// Package migrations holds the versioned SQL for the ga4_outbox schema, in
// golang-migrate's file layout (NNNNNN_name.up.sql / .down.sql), embedded so
// the binary and the tests apply exactly the same files.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS

// Schema is the PostgreSQL schema that holds the outbox tables and
// golang-migrate's version table.
const Schema = "ga4_outbox"

// Table is golang-migrate's version table inside Schema. It is never the
// host application's public.schema_migrations.
const Table = "schema_migrations"
