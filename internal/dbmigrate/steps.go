package dbmigrate

import (
	"bytes"
	"fmt"
	"io"

	"github.com/golang-migrate/migrate/v4/database"
)

// StepMarker is the line that divides a migration file into steps. The
// pgx driver of golang-migrate sends a whole file as one multi-statement
// query, which PostgreSQL runs as one implicit transaction: atomic, but
// CREATE INDEX CONCURRENTLY and DROP INDEX CONCURRENTLY cannot run in it.
// A file holding this line is sent one step at a time instead, on the same
// connection, each step in its own implicit transaction, so a step made of
// one CONCURRENTLY statement builds its index without blocking writes.
//
// Such a file is not atomic as a whole: every step must be safe to run
// again, so that after a failure `migrate force <previous version>` and
// `migrate up` finish the job (docs/OPERATIONS.md, "Upgrading and
// migrations"). A file without the line runs as before, in one piece.
const StepMarker = "-- ga4-outbox:step"

// stepDriver runs migration files divided by StepMarker one step at a time
// through the wrapped driver, which keeps golang-migrate's lock, version
// and dirty flag.
type stepDriver struct{ database.Driver }

var _ database.Driver = stepDriver{}

// Run applies one migration file, step by step when it holds StepMarker.
func (d stepDriver) Run(migration io.Reader) error {
	body, err := io.ReadAll(migration)
	if err != nil {
		return fmt.Errorf("read migration: %w", err)
	}
	steps := splitSteps(body)
	for i, step := range steps {
		if err := d.Driver.Run(bytes.NewReader(step)); err != nil {
			if len(steps) == 1 {
				return err
			}
			return fmt.Errorf("step %d of %d: %w", i+1, len(steps), err)
		}
	}
	return nil
}

// splitSteps cuts body at every line that is exactly StepMarker (trailing
// white space allowed) and drops steps holding nothing but white space and
// -- comments.
func splitSteps(body []byte) [][]byte {
	var steps [][]byte
	var cur []byte
	for _, line := range bytes.SplitAfter(body, []byte("\n")) {
		if string(bytes.TrimRight(line, " \t\r\n")) == StepMarker {
			steps, cur = appendStep(steps, cur), nil
			continue
		}
		cur = append(cur, line...)
	}
	return appendStep(steps, cur)
}

func appendStep(steps [][]byte, step []byte) [][]byte {
	for _, line := range bytes.Split(step, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && !bytes.HasPrefix(t, []byte("--")) {
			return append(steps, step)
		}
	}
	return steps
}
