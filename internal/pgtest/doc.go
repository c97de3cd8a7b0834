// Package pgtest provides PostgreSQL databases for tests: the server named by
// TEST_DATABASE_URL, else one started with testcontainers-go when Docker is
// reachable, else a skip (a failure when PGTEST_REQUIRE=1).
package pgtest
