package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

const validateUsage = `[--remote] FILE|-

Validates a Measurement Protocol request body (the JSON that /mp/collect
takes) and prints each problem as code, field path and description.
FILE "-" reads standard input. Offline by default (the same rules and codes
as Google's validation server); --remote asks the debug endpoint of
ga4.endpoint / GA4_ENDPOINT, else Google's (region from ga4.region).
A raw cookie value or GS2 fragment in client_id or session_id is a
problem that names the plain id to send (docs/IDS.md).

Exit codes: 0 valid, 1 problems found, 2 not JSON or bad usage,
3 the remote validator could not be reached.`

// placeholderMeasurementID is sent to the debug endpoint when none is
// configured: the validation server checks neither it nor the api_secret.
const placeholderMeasurementID = "G-VALIDATE0"

func runValidate(ctx context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "validate", validateUsage)
	remote := fs.Bool("remote", false, "ask the debug endpoint instead of validating offline")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usageError{errors.New("validate takes exactly one FILE (or - for standard input)")}
	}
	body, err := readInput(e, fs.Arg(0))
	if err != nil {
		return err
	}
	msgs, err := ga4.ValidateJSON(body, time.Now())
	if err != nil {
		return exitError{code: 2, err: fmt.Errorf("validate %s: %w", fs.Arg(0), err)}
	}
	if *remote {
		if msgs, err = validateRemote(ctx, e, *cfgPath, body); err != nil {
			return err
		}
	}
	return printMessages(e.stdout, msgs)
}

func readInput(e *env, name string) ([]byte, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, exitError{code: 2, err: fmt.Errorf("validate: %w", err)}
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return nil, exitError{code: 2, err: fmt.Errorf("validate: read %s: %w", name, err)}
	}
	return b, nil
}

func validateRemote(ctx context.Context, e *env, cfgPath string, body []byte) ([]ga4.Message, error) {
	cfg, err := loadConfig(e, cfgPath)
	if err != nil {
		return nil, err
	}
	client, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: cfg.GA4.Endpoint, Region: cfg.GA4.Region, Timeout: cfg.GA4.Timeout.D()})
	if err != nil {
		return nil, exitError{code: 2, err: err}
	}
	mid, secret := cfg.GA4.MeasurementID, cfg.GA4.APISecret.Reveal()
	if mid == "" {
		mid = placeholderMeasurementID
	}
	msgs, err := client.ValidateRemote(ctx, mid, secret, body)
	var se *ga4.SendError
	switch {
	case errors.As(err, &se) && se.StatusCode == 0:
		return nil, exitError{code: 3, err: fmt.Errorf("cannot reach the validation server at %s%s (no network?): %w", client.BaseURL(), ga4.DebugCollectPath, err)}
	case err != nil:
		return nil, exitError{code: 3, err: fmt.Errorf("remote validation at %s: %w", client.BaseURL(), err)}
	}
	fmt.Fprintf(e.stdout, "validated by %s%s\n", client.BaseURL(), ga4.DebugCollectPath)
	return msgs, nil
}

func printMessages(w io.Writer, msgs []ga4.Message) error {
	if len(msgs) == 0 {
		fmt.Fprintln(w, "valid: no problems found")
		return nil
	}
	for _, m := range msgs {
		fmt.Fprintf(w, "%-22s %-40s %s\n", m.Code, m.FieldPath, m.Description)
	}
	fmt.Fprintf(w, "%d problem(s)\n", len(msgs))
	return exitError{code: 1}
}
