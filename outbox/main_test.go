package outbox_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
)

// exampleDatabaseURL is a migrated database for the Example functions, which
// get no *testing.T of their own.
var exampleDatabaseURL string

func TestMain(m *testing.M) {
	before := goleak.IgnoreCurrent()
	main := &mainTB{}
	exampleDatabaseURL = pgtest.URL(main)
	code := m.Run()
	main.cleanup()
	pgtest.DropShared()
	if code == 0 {
		if err := goleak.Find(before, goleak.IgnoreTopFunction("github.com/jackc/pgx/v5/pgxpool.(*Pool).backgroundHealthCheck")); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// mainTB lets TestMain use pgtest: a skip (no database) skips the package.
type mainTB struct {
	testing.TB
	cleanups []func()
}

func (m *mainTB) Helper()                   {}
func (m *mainTB) Cleanup(f func())          { m.cleanups = append(m.cleanups, f) }
func (m *mainTB) Logf(f string, a ...any)   { fmt.Fprintf(os.Stderr, f+"\n", a...) }
func (m *mainTB) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(1) }
func (m *mainTB) Fatal(a ...any)            { fmt.Fprintln(os.Stderr, a...); os.Exit(1) }
func (m *mainTB) Skip(a ...any)             { fmt.Println("skip:", fmt.Sprint(a...)); os.Exit(0) }

func (m *mainTB) cleanup() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
}
