package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvConfigPath names the variable that points at the config file when
// --config is not given.
const EnvConfigPath = "GA4_OUTBOX_CONFIG"

// DefaultPath is the config file read when neither --config nor
// GA4_OUTBOX_CONFIG names one. A missing default file is not an error.
const DefaultPath = "config.yaml"

// Config is the whole sidecar configuration. The sample config.yaml at the
// repository root documents every key with its default.
type Config struct {
	Database  Database  `yaml:"database"`
	GA4       GA4       `yaml:"ga4"`
	Poller    Poller    `yaml:"poller"`
	Reconcile Reconcile `yaml:"reconcile"`
	Retention Retention `yaml:"retention"`
	Metrics   Metrics   `yaml:"metrics"`
	Outcomes  Outcomes  `yaml:"outcomes"`
}

// Database says where the outbox lives.
type Database struct {
	// URL is the PostgreSQL URL. Defaults to
	// postgres://postgres@127.0.0.1:5432/postgres. DATABASE_URL overrides it.
	URL string `yaml:"url"`
	// MaxConns caps the sidecar's connection pool. Defaults to 8.
	MaxConns int32 `yaml:"max_conns"`
}

// GA4 says where and how events are sent.
type GA4 struct {
	// MeasurementID is the default property (G-XXXXXXX). GA4_MEASUREMENT_ID
	// overrides it. Required by run and drain.
	MeasurementID string `yaml:"measurement_id"`
	// PropertyID is the default property's numeric GA4 property id (Admin >
	// Property details), which the outcome import queries; not the G-
	// measurement id. GA4_PROPERTY_ID overrides it. Empty: the default
	// property's outcomes are not fetched.
	PropertyID string `yaml:"property_id"`
	// APISecretFile is a file holding the default property's API secret
	// (GA4_API_SECRET_FILE overrides it). The secret itself is never read
	// from this file's YAML: set GA4_API_SECRET or point here.
	APISecretFile string `yaml:"api_secret_file"`
	// Region is global (www.google-analytics.com, the default) or eu
	// (region1.google-analytics.com). GA4_REGION overrides it.
	Region string `yaml:"region"`
	// Endpoint overrides the base URL (e.g. http://127.0.0.1:9411 for the
	// emulator); /mp/collect or /debug/mp/collect is appended. GA4_ENDPOINT
	// overrides it.
	Endpoint string `yaml:"endpoint"`
	// Validation is relaxed (the default: production traffic is sent
	// without validation_behavior) or enforce (ENFORCE_RECOMMENDATIONS).
	Validation string `yaml:"validation"`
	// Timeout bounds one HTTP request. Defaults to 10s. poller.lease must
	// be at least twice as long.
	Timeout Duration `yaml:"timeout"`
	// MaxConnections caps the connections to the endpoint. Over HTTP/2 (the
	// default to https endpoints) each carries up to 100 requests at
	// Google; over HTTP/1.1 it caps the requests in flight. Defaults to 16.
	MaxConnections int `yaml:"max_connections"`
	// CleartextHTTP2 speaks HTTP/2 without TLS (h2c) to an http:// endpoint
	// that supports it, such as the emulator; every request fails against
	// one that speaks only HTTP/1.1. Defaults to false.
	CleartextHTTP2 bool `yaml:"cleartext_http2"`
	// Properties are further GA4 properties that rows may route to with
	// their measurement_id column. A row naming a property not listed here
	// (nor the default) is skipped as unknown_property.
	Properties []Property `yaml:"properties"`

	// APISecret is loaded from GA4_API_SECRET or APISecretFile; never from
	// YAML and never printed.
	APISecret Secret `yaml:"-"`
}

// Property is one extra GA4 property and where its secret comes from.
type Property struct {
	MeasurementID string `yaml:"measurement_id"`
	// PropertyID is the property's numeric GA4 property id, for the
	// outcome import. Empty: its outcomes are not fetched.
	PropertyID string `yaml:"property_id"`
	// APISecretEnv names an environment variable holding the secret.
	APISecretEnv string `yaml:"api_secret_env"`
	// APISecretFile names a file holding the secret.
	APISecretFile string `yaml:"api_secret_file"`

	APISecret Secret `yaml:"-"`
}

// Poller tunes delivery.
type Poller struct {
	// BatchSize is the number of rows claimed per statement. Defaults to 500.
	BatchSize int `yaml:"batch_size"`
	// Concurrency caps the HTTP requests in flight (1 to 10000); below it
	// the limit adapts to what the endpoint sustains. Defaults to 1024.
	Concurrency int `yaml:"concurrency"`
	// InFlightBatches is the number of claimed batches sent at once (1 to
	// 64): claims go on while earlier batches are being sent, so that rows
	// committed meanwhile wait for no round trip; 1 sends one batch at a
	// time. Defaults to 8.
	InFlightBatches int `yaml:"in_flight_batches"`
	// Lease is how long a claimed row belongs to one worker; the poller
	// extends it while the row's batch is being sent, and starts no request
	// that could outlive it. At least twice ga4.timeout. Defaults to 60s.
	Lease Duration `yaml:"lease"`
	// MaxAttempts before a row is failed. Defaults to 12.
	MaxAttempts int `yaml:"max_attempts"`
	// BackoffInitial is the first retry delay. Defaults to 5s.
	BackoffInitial Duration `yaml:"backoff_initial"`
	// BackoffMax caps the retry delay. Defaults to 1h.
	BackoffMax Duration `yaml:"backoff_max"`
	// Schedule is the cron safety net that wakes the poller even without a
	// NOTIFY. Defaults to "@every 10s".
	Schedule string `yaml:"schedule"`
	// Listen turns LISTEN/NOTIFY wake-ups on. Defaults to true. Off, a row
	// enqueued while the poller is idle waits for the Schedule.
	Listen *bool `yaml:"listen"`
	// MissingClientID is skip (the default: skipped/missing_client_id) or
	// generate (send with a generated client_id, marked as such).
	MissingClientID string `yaml:"missing_client_id"`
	// UnknownConsent is send (the default: NULL analytics consent is sent)
	// or deny (NULL is treated as denied).
	UnknownConsent string `yaml:"unknown_consent"`
	// ShutdownGrace is how long in-flight sends may finish on shutdown.
	// Defaults to 10s.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
}

// Reconcile configures the nightly attribution report.
type Reconcile struct {
	// Schedule is a cron spec, timezone-aware with a CRON_TZ= prefix.
	// Defaults to "CRON_TZ=UTC 0 2 * * *". "off" disables the nightly run.
	Schedule string `yaml:"schedule"`
	// OutputDir receives the nightly report files. Defaults to ./reports.
	OutputDir string `yaml:"output_dir"`
	// Formats written each night. Defaults to [markdown, json].
	Formats []string `yaml:"formats"`
	// StuckAfter marks pending rows older than this as stuck. Defaults to 1h.
	StuckAfter Duration `yaml:"stuck_after"`
	// Examples is the number of transaction ids listed per problem bucket.
	// Defaults to 5.
	Examples int `yaml:"examples"`
	// OrdersQuery reads the application's own orders for the window ($1, $2)
	// and returns transaction_id, value, currency, occurred_at. Empty
	// disables the orders reconciliation.
	OrdersQuery string `yaml:"orders_query"`
	// ParallelWorkers sets max_parallel_workers_per_gather for the report's
	// transaction; the database server's cores minus one suits it best.
	// Defaults to 0: the server's own setting.
	ParallelWorkers int `yaml:"parallel_workers"`
}

// Retention configures the cleanup of finished rows.
type Retention struct {
	// DeliveredAfter deletes delivered rows older than this. Defaults to
	// 720h (30 days). Zero keeps them forever.
	DeliveredAfter Duration `yaml:"delivered_after"`
	// SkippedAfter deletes skipped rows older than this. Defaults to 2160h
	// (90 days). Zero keeps them forever. Failed rows are never deleted.
	SkippedAfter Duration `yaml:"skipped_after"`
	// Schedule is the cron spec of the retention job. Defaults to "@hourly".
	Schedule string `yaml:"schedule"`
	// BatchSize is the number of rows deleted per statement. Defaults to 1000.
	BatchSize int `yaml:"batch_size"`
}

// Metrics configures the /metrics, /healthz and /readyz server.
type Metrics struct {
	// Addr is the listen address. Defaults to 127.0.0.1:9464 (loopback
	// only). "off" disables the server.
	Addr string `yaml:"addr"`
}

// Load reads the config file at path (the default path may be missing),
// expands ${VAR} references, applies environment overrides and defaults,
// loads secrets and validates the result. explicit says whether the user
// named the path (then a missing file is an error).
func Load(path string, explicit bool, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var raw []byte
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case err == nil:
			raw = b
		case errors.Is(err, os.ErrNotExist) && !explicit:
		default:
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("config: %s: cannot read: %w", path, err)
		}
	}
	return Parse(raw, getenv)
}

// Parse is Load for bytes already read. Its errors never contain an API
// secret, even one that a ${VAR} reference expanded into the wrong key.
func Parse(raw []byte, getenv func(string) string) (*Config, error) {
	cfg, err := parse(raw, getenv)
	if err != nil {
		return nil, redactSecrets(err, cfg, getenv)
	}
	return cfg, nil
}

func parse(raw []byte, getenv func(string) string) (*Config, error) {
	cfg := Default()
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := decode(expandEnv(string(raw), getenv), cfg); err != nil {
			return nil, err
		}
	}
	applyEnv(cfg, getenv)
	if err := cfg.loadSecrets(getenv); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// redactedError is an error whose message had secrets masked; Unwrap keeps
// the typed errors (FieldError) reachable for errors.As.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactSecrets masks every known API secret (GA4_API_SECRET and the
// secrets loaded so far) in err's message.
func redactSecrets(err error, cfg *Config, getenv func(string) string) error {
	secrets := []string{strings.TrimSpace(getenv("GA4_API_SECRET"))}
	if cfg != nil {
		secrets = append(secrets, cfg.GA4.APISecret.Reveal())
		for _, p := range cfg.GA4.Properties {
			secrets = append(secrets, p.APISecret.Reveal())
		}
	}
	msg := err.Error()
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, mask(s))
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

func applyEnv(cfg *Config, getenv func(string) string) {
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&cfg.Database.URL, "DATABASE_URL")
	set(&cfg.GA4.MeasurementID, "GA4_MEASUREMENT_ID")
	set(&cfg.GA4.PropertyID, "GA4_PROPERTY_ID")
	set(&cfg.GA4.APISecretFile, "GA4_API_SECRET_FILE")
	set(&cfg.GA4.Region, "GA4_REGION")
	set(&cfg.GA4.Endpoint, "GA4_ENDPOINT")
	set(&cfg.Metrics.Addr, "GA4_OUTBOX_METRICS_ADDR")
	set(&cfg.Reconcile.OutputDir, "GA4_OUTBOX_REPORT_DIR")
	set(&cfg.Outcomes.CredentialsFile, "GA4_OUTBOX_CREDENTIALS_FILE")
}

// ListenEnabled reports whether LISTEN/NOTIFY wake-ups are on (the default).
func (p Poller) ListenEnabled() bool { return p.Listen == nil || *p.Listen }

// decode decodes doc over cfg and reports every problem, one per line,
// each as "config: <key>: <rule>": syntax, unknown keys (with the nearest
// known one), fractional whole numbers and every type error.
func decode(doc string, cfg *Config) error {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		return fmt.Errorf("config: yaml syntax: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if root.Kind == 0 { // comments only
		return nil
	}
	errs := checkKeys(&root)
	if err := root.Decode(cfg); err != nil {
		errs = append(errs, typeErrors(err, keysByLine(doc))...)
	}
	return errors.Join(errs...)
}

var lineRef = regexp.MustCompile(`^line (\d+): (.*)$`)

// typeErrors turns each of yaml's "line N: cannot unmarshal ..." messages
// into a FieldError naming the key on that line.
func typeErrors(err error, keys map[int]string) []error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return []error{fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	var errs []error
	for _, msg := range te.Errors {
		m := lineRef.FindStringSubmatch(msg)
		if m == nil {
			errs = append(errs, errors.New("config: "+msg))
			continue
		}
		n, _ := strconv.Atoi(m[1])
		key, ok := keys[n]
		if !ok {
			key = "line " + m[1]
		}
		errs = append(errs, &FieldError{Key: key, Rule: fmt.Sprintf("%s (line %d)", m[2], n)})
	}
	return errs
}

// keysByLine maps each line of a YAML document to the dotted key defined or
// valued on it, so errors can name keys instead of lines.
func keysByLine(doc string) map[int]string {
	var root yaml.Node
	keys := map[int]string{}
	if yaml.Unmarshal([]byte(doc), &root) != nil {
		return keys
	}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := strings.TrimPrefix(path+"."+n.Content[i].Value, ".")
				keys[n.Content[i].Line] = k
				walk(n.Content[i+1], k)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.ScalarNode:
			if _, taken := keys[n.Line]; !taken {
				keys[n.Line] = path
			}
		}
	}
	walk(&root, "")
	return keys
}

// Duration is a time.Duration written as "10s", "1h30m".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses a Go duration string. Its error is a
// *yaml.TypeError so that the decoder goes on and reports every problem.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil || n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is not a duration (use e.g. 30s, 5m, 2h)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML prints the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Secret holds an API secret; it prints as a mask in every format.
type Secret string

// String masks the secret.
func (s Secret) String() string { return mask(string(s)) }

// GoString masks the secret for %#v.
func (s Secret) GoString() string { return mask(string(s)) }

// MarshalYAML masks the secret.
func (s Secret) MarshalYAML() (any, error) { return mask(string(s)), nil }

// MarshalJSON masks the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + mask(string(s)) + `"`), nil }

// Reveal returns the secret itself, for the HTTP client only.
func (s Secret) Reveal() string { return string(s) }

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "********"
}
