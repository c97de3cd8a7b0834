package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ga4-outbox/ga4-outbox/internal/dbconn"
	"github.com/ga4-outbox/ga4-outbox/internal/dbmigrate"
	"github.com/ga4-outbox/ga4-outbox/internal/pgcluster"
	"github.com/ga4-outbox/ga4-outbox/migrations"
)

// EnvURL names the variable that points tests at a PostgreSQL server. Its
// user must be allowed to create databases.
const EnvURL = "TEST_DATABASE_URL"

// EnvRequire, set to 1, turns "no database available" from a skip into a
// failure (CI sets it).
const EnvRequire = "PGTEST_REQUIRE"

var server struct {
	once    sync.Once
	url     string // admin URL of the server, "" when none
	source  string // where it came from
	why     string // why there is none
	cluster *pgcluster.Cluster
}

// ServerURL returns the URL of the test server's maintenance database:
// TEST_DATABASE_URL, else the PostgreSQL answering on 127.0.0.1:5432
// (GA4_OUTBOX_PG_PROBE), else a container when Docker is reachable, else a
// throwaway cluster from the local server binaries, which Main stops and
// removes. With none of them it skips (fails with PGTEST_REQUIRE=1).
func ServerURL(t testing.TB) string {
	t.Helper()
	server.once.Do(findServer)
	if server.url == "" {
		msg := "no PostgreSQL for tests: set " + EnvURL +
			" (e.g. postgres://postgres@127.0.0.1:5432/postgres), run PostgreSQL on " + pgcluster.ProbeAddr(os.Getenv) +
			", make Docker reachable or install the server binaries; " + server.why
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return server.url
}

// ServerSource says where the test server came from: EnvURL, the probed
// address, a container or a throwaway cluster (with its folder); "" before
// the first ServerURL.
func ServerSource() string { return server.source }

func findServer() {
	if u := os.Getenv(EnvURL); u != "" {
		server.url, server.source = u, EnvURL
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if addr := pgcluster.ProbeAddr(os.Getenv); pgcluster.Answers(ctx, addr) {
		server.url, server.source = pgcluster.ProbeURL(addr), "PostgreSQL on "+addr
		return
	}
	u, noContainer := startContainer()
	if u != "" {
		server.url, server.source = u, "a PostgreSQL container"
		return
	}
	c, err := pgcluster.Start(ctx, nil)
	if err != nil {
		server.why = noContainer + "; " + err.Error()
		return
	}
	server.url, server.cluster = c.URL, c
	server.source = "a throwaway cluster in " + c.Dir
}

// URL creates a fresh database cloned from a migrated template, drops it when
// the test ends and returns its URL. Use it for tests that commit, LISTEN or
// run several pollers; it is isolated from every other test.
func URL(t testing.TB) string {
	t.Helper()
	admin := ServerURL(t)
	tpl, err := template(admin)
	if err != nil {
		t.Fatalf("prepare template database: %v", err)
	}
	name := "ga4o_test_" + randomHex(6)
	ctx := context.Background()
	if err := adminExec(ctx, admin, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tpl)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(context.Background(), admin, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return dbconn.WithDatabase(admin, name)
}

// EmptyURL creates a fresh, empty database (no migrations applied) and drops
// it when the test ends: for migration tests.
func EmptyURL(t testing.TB) string {
	t.Helper()
	admin := ServerURL(t)
	name := "ga4o_empty_" + randomHex(6)
	ctx := context.Background()
	if err := adminExec(ctx, admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create empty database: %v", err)
	}
	t.Cleanup(func() {
		_ = adminExec(context.Background(), admin, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name))
	})
	return dbconn.WithDatabase(admin, name)
}

// Pool returns a pool on a fresh migrated database (see URL), closed when the
// test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, err := dbconn.OpenPool(context.Background(), URL(t), 0)
	if err != nil {
		t.Fatalf("open test pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

var shared struct {
	once        sync.Once
	admin, name string
	pool        *pgxpool.Pool
	err         error
}

// Tx returns a transaction on a migrated database shared by the test binary;
// it is rolled back when the test ends, so nothing it writes is seen by any
// other test. Use URL or Pool when the test must commit.
func Tx(t testing.TB) pgx.Tx {
	t.Helper()
	admin := ServerURL(t)
	shared.once.Do(func() {
		tpl, err := template(admin)
		if err != nil {
			shared.err = err
			return
		}
		name := "ga4o_shared_" + randomHex(6)
		if shared.err = adminExec(context.Background(), admin, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tpl)); shared.err != nil {
			return
		}
		shared.admin, shared.name = admin, name
		shared.pool, shared.err = dbconn.OpenPool(context.Background(), dbconn.WithDatabase(admin, name), 0)
	})
	if shared.err != nil {
		t.Fatalf("shared test database: %v", shared.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := shared.pool.Begin(ctx)
	if err != nil {
		t.Fatalf("begin test transaction: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// Main runs the tests of a package that uses Tx, drops the shared
// database and exits: `func TestMain(m *testing.M) { pgtest.Main(m) }`.
func Main(m *testing.M) {
	code := m.Run()
	DropShared()
	StopCluster()
	os.Exit(code)
}

// StopCluster stops and removes the throwaway cluster ServerURL started, if
// any (Main calls it). In a package without Main the server stops when the
// test binary exits (on Linux) and the next cluster's start removes its
// folder.
func StopCluster() {
	if server.cluster == nil {
		return
	}
	if err := server.cluster.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
	}
}

// DropShared closes Tx's shared database and drops it. Call it after m.Run
// (Main does) in every package that uses Tx: the testing package has no
// end-of-binary cleanup, and without it every run left one database per
// package behind. A no-op when no test called Tx.
func DropShared() {
	if shared.name == "" {
		return
	}
	if shared.pool != nil {
		shared.pool.Close()
	}
	if err := adminExec(context.Background(), shared.admin, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, shared.name)); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: drop %s: %v\n", shared.name, err)
	}
}

var tpl struct {
	mu   sync.Mutex
	name string
}

// template returns the name of a database with every migration applied,
// creating it once per server and per migration set (its name carries a hash
// of the migration files, so a changed migration gets a new template).
// An advisory lock serialises test binaries that start at the same time.
func template(admin string) (string, error) {
	tpl.mu.Lock()
	defer tpl.mu.Unlock()
	if tpl.name != "" {
		return tpl.name, nil
	}
	name := "ga4o_tpl_" + migrationsHash()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7420510)`); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(7420510)`)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template: %w", err)
	}
	if !exists {
		if err := createTemplate(ctx, conn, admin, name); err != nil {
			return "", err
		}
	}
	tpl.name = name
	return name, nil
}

func createTemplate(ctx context.Context, conn *pgx.Conn, admin, name string) error {
	building := name + "_build"
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+building+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop stale template: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+building); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	m, err := dbmigrate.New(ctx, dbconn.WithDatabase(admin, building))
	if err != nil {
		return err
	}
	upErr := m.Up()
	closeErr := m.Close()
	if upErr != nil {
		return upErr
	}
	if closeErr != nil {
		return fmt.Errorf("close migrator: %w", closeErr)
	}
	// Rename only once complete, so a crashed build is never used.
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+building+` RENAME TO `+name); err != nil {
		return fmt.Errorf("publish template: %w", err)
	}
	return nil
}

func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func adminExec(ctx context.Context, admin, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
