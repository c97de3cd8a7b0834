// Package pgtest provides PostgreSQL databases for tests: the server named by
// TEST_DATABASE_URL, else the one answering on 127.0.0.1:5432, else one
// started with testcontainers-go when Docker is reachable, else a throwaway
// cluster from the local server binaries (internal/pgcluster), else a skip
// (a failure when PGTEST_REQUIRE=1).
package pgtest
