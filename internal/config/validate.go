package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"
)

// FieldError names the config key that broke a rule.
type FieldError struct {
	Key  string // e.g. poller.batch_size
	Rule string // what the value must be
}

func (e *FieldError) Error() string { return "config: " + e.Key + ": " + e.Rule }

var measurementIDRe = regexp.MustCompile(`^G-[A-Z0-9]{4,20}$`)

// ValidMeasurementID reports whether id looks like a GA4 web measurement id
// (G- followed by 4 to 20 upper-case letters or digits).
func ValidMeasurementID(id string) bool { return measurementIDRe.MatchString(id) }

// Validate checks every key against its rule and returns all problems.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, key, rule string) {
		if !ok {
			errs = append(errs, &FieldError{Key: key, Rule: rule})
		}
	}
	g := c.GA4
	check(g.MeasurementID == "" || ValidMeasurementID(g.MeasurementID), "ga4.measurement_id",
		fmt.Sprintf("%q is not a measurement id (G- followed by letters and digits, e.g. G-ABC123XYZ; not the numeric stream id)", g.MeasurementID))
	check(slices.Contains([]string{"global", "eu"}, g.Region), "ga4.region", fmt.Sprintf("%q: must be global or eu", g.Region))
	check(slices.Contains([]string{"relaxed", "enforce"}, g.Validation), "ga4.validation", fmt.Sprintf("%q: must be relaxed or enforce", g.Validation))
	check(g.Endpoint == "" || validBaseURL(g.Endpoint), "ga4.endpoint", fmt.Sprintf("%q: must be an http(s) base URL without query, e.g. http://127.0.0.1:9411", g.Endpoint))
	check(g.Timeout > 0, "ga4.timeout", "must be positive")
	check(g.MaxConnections > 0 && g.MaxConnections <= 1024, "ga4.max_connections", "must be between 1 and 1024")
	for i, p := range g.Properties {
		key := fmt.Sprintf("ga4.properties[%d]", i)
		check(ValidMeasurementID(p.MeasurementID), key+".measurement_id", fmt.Sprintf("%q is not a measurement id", p.MeasurementID))
		check(p.APISecretEnv != "" || p.APISecretFile != "", key, "needs api_secret_env or api_secret_file")
	}
	p := c.Poller
	check(p.BatchSize > 0 && p.BatchSize <= 10000, "poller.batch_size", "must be between 1 and 10000")
	check(p.Concurrency > 0 && p.Concurrency <= 10000, "poller.concurrency", "must be between 1 and 10000")
	check(p.InFlightBatches > 0 && p.InFlightBatches <= 64, "poller.in_flight_batches", "must be between 1 and 64")
	check(p.Lease > 0, "poller.lease", "must be positive")
	check(p.Lease <= 0 || g.Timeout <= 0 || p.Lease >= 2*g.Timeout, "poller.lease",
		fmt.Sprintf("%s is shorter than twice ga4.timeout (%s): a request could outlive the lease and its rows be sent twice", p.Lease.D(), g.Timeout.D()))
	check(p.MaxAttempts > 0, "poller.max_attempts", "must be positive")
	check(p.BackoffInitial > 0 && p.BackoffMax >= p.BackoffInitial, "poller.backoff_max", "must be at least poller.backoff_initial, both positive")
	check(validCron(p.Schedule), "poller.schedule", fmt.Sprintf("%q is not a cron spec (e.g. \"@every 10s\" or \"*/1 * * * *\")", p.Schedule))
	check(slices.Contains([]string{"skip", "generate"}, p.MissingClientID), "poller.missing_client_id", fmt.Sprintf("%q: must be skip or generate", p.MissingClientID))
	check(slices.Contains([]string{"send", "deny"}, p.UnknownConsent), "poller.unknown_consent", fmt.Sprintf("%q: must be send or deny", p.UnknownConsent))
	check(p.ShutdownGrace >= 0, "poller.shutdown_grace", "must not be negative")
	r := c.Reconcile
	check(r.Schedule == "off" || validCron(r.Schedule), "reconcile.schedule", fmt.Sprintf("%q is not a cron spec (e.g. \"CRON_TZ=Europe/Berlin 0 2 * * *\") or off", r.Schedule))
	for _, f := range r.Formats {
		check(slices.Contains([]string{"table", "markdown", "csv", "json", "html"}, f), "reconcile.formats", fmt.Sprintf("%q: must be table, markdown, csv, json or html", f))
	}
	check(r.Examples >= 0, "reconcile.examples", "must not be negative")
	check(r.ParallelWorkers >= 0, "reconcile.parallel_workers", "must not be negative")
	check(r.StuckAfter > 0, "reconcile.stuck_after", "must be positive")
	t := c.Retention
	check(t.DeliveredAfter >= 0, "retention.delivered_after", "must not be negative")
	check(t.SkippedAfter >= 0, "retention.skipped_after", "must not be negative")
	check(validCron(t.Schedule), "retention.schedule", fmt.Sprintf("%q is not a cron spec", t.Schedule))
	check(t.BatchSize > 0, "retention.batch_size", "must be positive")
	check(c.Database.MaxConns > 0, "database.max_conns", "must be positive")
	check(c.Metrics.Addr == "off" || validListenAddr(c.Metrics.Addr), "metrics.addr",
		fmt.Sprintf("%q: must be host:port (e.g. 127.0.0.1:9464, or :9464 for every interface) or off", c.Metrics.Addr))
	errs = append(errs, c.validateOutcomes()...)
	return errors.Join(errs...)
}

// RequireSending checks what run and drain need beyond Validate: a
// measurement id and its API secret.
func (c *Config) RequireSending() error {
	var errs []error
	if c.GA4.MeasurementID == "" {
		errs = append(errs, &FieldError{Key: "ga4.measurement_id", Rule: "is required to send (set it in config.yaml or GA4_MEASUREMENT_ID)"})
	}
	if c.GA4.APISecret == "" {
		errs = append(errs, &FieldError{Key: "ga4.api_secret", Rule: "is required to send (set GA4_API_SECRET or ga4.api_secret_file)"})
	}
	return errors.Join(errs...)
}

func (c *Config) loadSecrets(getenv func(string) string) error {
	var err error
	if c.GA4.APISecret, err = readSecret(getenv("GA4_API_SECRET"), c.GA4.APISecretFile, "ga4.api_secret_file"); err != nil {
		return err
	}
	for i := range c.GA4.Properties {
		p := &c.GA4.Properties[i]
		var env string
		if p.APISecretEnv != "" {
			env = getenv(p.APISecretEnv)
		}
		key := fmt.Sprintf("ga4.properties[%d].api_secret_file", i)
		if p.APISecret, err = readSecret(env, p.APISecretFile, key); err != nil {
			return err
		}
	}
	return nil
}

func readSecret(fromEnv, file, key string) (Secret, error) {
	if fromEnv != "" {
		return Secret(strings.TrimSpace(fromEnv)), nil
	}
	if file == "" {
		return "", nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", &FieldError{Key: key, Rule: "cannot read the secret file: " + errors.Unwrap(err).Error()}
	}
	return Secret(strings.TrimSpace(string(b))), nil
}

// SecretFor returns the API secret for a measurement id: the default
// property's or a listed property's. ok is false for an unknown property.
func (c *Config) SecretFor(measurementID string) (secret Secret, ok bool) {
	if measurementID == c.GA4.MeasurementID {
		return c.GA4.APISecret, true
	}
	for _, p := range c.GA4.Properties {
		if p.MeasurementID == measurementID {
			return p.APISecret, true
		}
	}
	return "", false
}

func validCron(spec string) bool {
	_, err := cron.ParseStandard(spec)
	return err == nil
}

func validListenAddr(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.ParseUint(port, 10, 16)
	return err == nil && (n > 0 || port == "0")
}

func validBaseURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.RawQuery == ""
}
