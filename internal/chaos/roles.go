package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
)

// roles are the least-privilege roles of deploy/sql: the sidecars connect
// as the one role.sql creates, the writers as an application role with
// only app-grants.sql's rights. Roles are server-wide, so their names are
// unique per run and they are dropped at the end.
type roles struct {
	sidecar, app string
}

// setupRoles applies deploy/sql/role.sql and app-grants.sql with psql,
// as the schema owner (adminURL). It returns the roles, or a reason to run
// everything as the owner instead.
func setupRoles(ctx context.Context, adminURL string) (*roles, string) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		return nil, "psql not found: everything runs as the database owner"
	}
	dir, err := moduleRoot(ctx)
	if err != nil {
		return nil, err.Error()
	}
	suffix := randomHex(4)
	r := &roles{sidecar: "ga4o_chaos_sidecar_" + suffix, app: "ga4o_chaos_app_" + suffix}
	if err := adminExec(ctx, adminURL, "CREATE ROLE "+r.app+" LOGIN"); err != nil {
		return nil, "create application role: " + err.Error()
	}
	for _, step := range [][]string{
		{"-v", "role=" + r.sidecar, "-f", filepath.Join(dir, "deploy", "sql", "role.sql")},
		{"-v", "app_role=" + r.app, "-f", filepath.Join(dir, "deploy", "sql", "app-grants.sql")},
	} {
		args := append([]string{adminURL, "-X", "-q", "-v", "ON_ERROR_STOP=1"}, step...)
		if out, err := exec.CommandContext(ctx, psql, args...).CombinedOutput(); err != nil {
			r.drop(context.WithoutCancel(ctx), adminURL)
			return nil, fmt.Sprintf("psql %s: %v: %s", filepath.Base(step[len(step)-1]), err, strings.TrimSpace(string(out)))
		}
	}
	return r, ""
}

// drop removes the roles' privileges in the database and the roles.
func (r *roles) drop(ctx context.Context, adminURL string) {
	for _, role := range []string{r.sidecar, r.app} {
		_ = adminExec(ctx, adminURL, "DROP OWNED BY "+role)
		_ = adminExec(ctx, adminURL, "DROP ROLE IF EXISTS "+role)
	}
}

// asUser returns raw with another user and the password.
func asUser(raw, user, password string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("database url cannot be parsed")
	}
	u.User = url.UserPassword(user, password)
	return u.String(), nil
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == "/dev/null" {
		return "", errors.New("cannot find the module root (go env GOMOD) for deploy/sql")
	}
	return filepath.Dir(gomod), nil
}
