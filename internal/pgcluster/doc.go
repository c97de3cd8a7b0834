// Package pgcluster starts a throwaway PostgreSQL cluster from the server
// binaries installed on the machine, for `make demo` and `make test` on a
// machine where no PostgreSQL is running and Docker is not reachable.
//
// # Finding the binaries
//
// [FindBinDir] looks for initdb and postgres in $GA4_OUTBOX_PG_BINDIR, on
// PATH, in `pg_config --bindir`, then in the folders the usual packages
// install into (Debian's /usr/lib/postgresql/N/bin, the PGDG RPMs'
// /usr/pgsql-N/bin, Homebrew's postgresql@N, Postgres.app), newest version
// first. Without any, its error names the one command that installs them on
// this system ([InstallHint]).
//
// # The cluster
//
// [Start] runs initdb into a new temporary folder (trust authentication for
// user postgres, fsync off: the data is thrown away) and starts postgres
// listening on a free port on 127.0.0.1, with its Unix socket in the same
// folder. PostgreSQL refuses to run as root, so when the caller is root the
// folder is handed to the unprivileged user nobody and both programs run as
// that user. [Cluster.Stop] stops the server the way `pg_ctl stop -m
// immediate` does and removes the folder.
//
//	c, err := pgcluster.Start(ctx, nil)
//	if err != nil { ... }
//	defer c.Stop()
//	pool, err := pgxpool.New(ctx, c.URL)
//
// On Linux the server also stops when the process that started it dies, and
// the next Start removes the folders such processes left behind.
//
// # The usual address
//
// [ProbeAddr] is the address callers try before starting a cluster:
// 127.0.0.1:5432, or $GA4_OUTBOX_PG_PROBE (tests point it at a closed port
// to make "nothing is running" true on any machine).
package pgcluster
