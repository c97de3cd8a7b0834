// Package sqlrole holds the least-privilege SQL of ga4-outbox's deployment:
// role.sql (the sidecar's own role) and app-grants.sql (what an application
// role needs to enqueue). Both are psql scripts; see their header comments
// and docs/DEPLOYMENT.md. The package's tests apply them to a real
// PostgreSQL and connect as the roles they create.
package sqlrole

import _ "embed"

// RoleSQL is role.sql: the sidecar role (default name ga4_outbox, psql
// variable role).
//
//go:embed role.sql
var RoleSQL string

// AppGrantsSQL is app-grants.sql: the grants an application role needs to
// enqueue (psql variable app_role, required).
//
//go:embed app-grants.sql
var AppGrantsSQL string
