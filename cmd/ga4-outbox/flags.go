package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
)

// newFlags returns a flag set for a subcommand that writes its help to the
// command's stderr and adds the --config flag every subcommand takes.
func newFlags(e *env, name, usage string) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	path := fs.String("config", "", "config file (default ./config.yaml, or $"+config.EnvConfigPath+")")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: ga4-outbox %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs, path
}

// parseFlags parses args; -h is success (help printed), other errors are
// usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return exitError{code: 0}
	}
	if err != nil {
		return usageError{err}
	}
	return nil
}

// loadConfig loads the config named by --config, else $GA4_OUTBOX_CONFIG,
// else ./config.yaml (which may be missing).
func loadConfig(e *env, flagPath string) (*config.Config, error) {
	path, explicit := flagPath, flagPath != ""
	if !explicit {
		if p := e.getenv(config.EnvConfigPath); p != "" {
			path, explicit = p, true
		} else {
			path = config.DefaultPath
		}
	}
	cfg, err := config.Load(path, explicit, e.getenv)
	if err != nil {
		return nil, exitError{code: 2, err: indentJoined(err)}
	}
	return cfg, nil
}

// indentJoined prints a joined error one problem per line.
func indentJoined(err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "\n") {
		return err
	}
	return errors.New("invalid configuration:\n  " + strings.ReplaceAll(msg, "\n", "\n  "))
}
