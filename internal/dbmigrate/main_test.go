package dbmigrate_test

import (
	"testing"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// TestMain drops the database pgtest.Tx shared across this binary's tests.
func TestMain(m *testing.M) { pgtest.Main(m) }
