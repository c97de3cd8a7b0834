package main

import (
	"context"
	"fmt"

	"go.yaml.in/yaml/v3"
)

func runConfig(_ context.Context, e *env) error {
	fs, cfgPath := newFlags(e, "config", "\n\nPrints the effective configuration (file + environment + defaults) as YAML.\nAPI secrets are masked; the database password is masked.")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	cfg, err := loadConfig(e, *cfgPath)
	if err != nil {
		return err
	}
	shown := *cfg
	shown.Database.URL = redactURL(cfg.Database.URL)
	out, err := yaml.Marshal(&shown)
	if err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	fmt.Fprintf(e.stdout, "# effective configuration\n%s", out)
	fmt.Fprintf(e.stdout, "# ga4.api_secret: %s\n", secretState(cfg.GA4.APISecret.Reveal()))
	return nil
}

func secretState(s string) string {
	if s == "" {
		return "not set"
	}
	return "set (masked)"
}
