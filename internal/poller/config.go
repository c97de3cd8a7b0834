package poller

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// What a row without a client_id becomes (Config.MissingClientID).
const (
	// missingClientIDSkip marks the row skipped/missing_client_id (default).
	missingClientIDSkip = "skip"
	// missingClientIDGenerate sends the row with a client_id derived from
	// its id and creation time, and marks it delivered with reason
	// generated_client_id. Its revenue counts; it joins no browser session.
	missingClientIDGenerate = "generate"
)

// What a row whose analytics consent is unknown (NULL) becomes
// (Config.UnknownConsent).
const (
	// unknownConsentSend sends it (default): an application that could read
	// the GA ids had analytics consent.
	unknownConsentSend = "send"
	// unknownConsentDeny treats it as denied: skipped/consent_denied.
	unknownConsentDeny = "deny"
)

// maxEventAge is how old an event may be when sent: GA moves older
// timestamps or rejects them, so older rows are skipped/expired.
const maxEventAge = 72 * time.Hour

// Config tunes a Poller. The zero value (or nil) is usable: every field has
// a default.
type Config struct {
	// BatchSize is the number of rows claimed per statement. Defaults to 500.
	BatchSize int
	// InFlightBatches is the number of claimed batches being sent at once:
	// claims go on while earlier batches are being sent, so rows committed
	// meanwhile wait for no round trip to GA. HTTP concurrency is the
	// Sender's. Defaults to 8.
	InFlightBatches int
	// Lease is how long claimed rows belong to this worker; when it expires
	// unmarked (the worker died) the rows are claimable again. While a
	// batch is being sent its lease is extended every third of Lease, and
	// the Sender sees it (LeaseFrom) to start no request that could outlive
	// it. Defaults to 60s.
	Lease time.Duration
	// MaxAttempts is the number of claims after which a row that still gets
	// retryable errors is failed/max_attempts. Defaults to 12.
	MaxAttempts int
	// BackoffInitial is the delay after the first retryable error; it
	// doubles per attempt up to BackoffMax, with jitter (a random delay
	// between half and all of it). A longer Retry-After wins. Defaults to 5s.
	BackoffInitial time.Duration
	// BackoffMax caps the retry delay. Defaults to 1h.
	BackoffMax time.Duration
	// Schedule is the cron spec (robfig/cron, standard five fields or
	// @every) that wakes the poller even when no NOTIFY arrives: the safety
	// net for retries, expired leases and lost notifications. Defaults to
	// "@every 10s".
	Schedule string
	// DisableListen turns off LISTEN/NOTIFY wake-ups and the notify gate;
	// then a row enqueued while the poller is idle waits for the Schedule
	// (the poller still wakes when a retry falls due and claims again at
	// once after a full batch). Defaults to false (listening).
	DisableListen bool
	// MissingClientID says what a row without a client_id becomes: "skip"
	// (skipped/missing_client_id) or "generate" (sent with a client_id
	// derived from its id, delivered/generated_client_id). Defaults to
	// "skip".
	MissingClientID string
	// UnknownConsent says what a row whose analytics consent is unknown
	// becomes: "send" or "deny" (skipped/consent_denied). Defaults to
	// "send".
	UnknownConsent string
	// ShutdownGrace is how long in-flight sends may finish after Run's
	// context is cancelled; then they are cancelled, and results are marked
	// either way. Defaults to 10s. Negative means no grace.
	ShutdownGrace time.Duration
	// WorkerID is stored as lease_owner. Defaults to hostname-pid-random.
	WorkerID string
	// Now is the clock for every timestamp the poller writes and compares.
	// Defaults to time.Now.
	Now func() time.Time
	// Logger receives warnings and one line per batch at debug level.
	// Defaults to discarding.
	Logger *slog.Logger
	// Registerer receives the poller's metrics. Nil means none.
	Registerer prometheus.Registerer
	// Retention says which finished rows Retain deletes.
	Retention RetentionConfig
}

// RetentionConfig says which finished rows Retain deletes. Failed rows are
// never deleted.
type RetentionConfig struct {
	// DeliveredAfter deletes delivered rows this long after they were
	// marked. Zero keeps them.
	DeliveredAfter time.Duration
	// SkippedAfter deletes skipped rows this long after they were marked.
	// Zero keeps them.
	SkippedAfter time.Duration
	// BatchSize is the number of rows deleted per statement, so no
	// statement holds many locks for long. Defaults to 1000.
	BatchSize int
}

func (c Config) withDefaults() (Config, error) {
	c.BatchSize = cmp.Or(c.BatchSize, 500)
	c.InFlightBatches = cmp.Or(c.InFlightBatches, 8)
	c.Lease = cmp.Or(c.Lease, 60*time.Second)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 12)
	c.BackoffInitial = cmp.Or(c.BackoffInitial, 5*time.Second)
	c.BackoffMax = cmp.Or(c.BackoffMax, time.Hour)
	c.Schedule = cmp.Or(c.Schedule, "@every 10s")
	c.MissingClientID = cmp.Or(c.MissingClientID, missingClientIDSkip)
	c.UnknownConsent = cmp.Or(c.UnknownConsent, unknownConsentSend)
	c.ShutdownGrace = cmp.Or(c.ShutdownGrace, 10*time.Second)
	c.WorkerID = cmp.Or(c.WorkerID, defaultWorkerID())
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.Retention.BatchSize = cmp.Or(c.Retention.BatchSize, 1000)
	return c, c.validate()
}

// configError names the Config field that broke a rule.
type configError struct {
	Field string
	Rule  string
}

func (e *configError) Error() string { return "outbox: config " + e.Field + ": " + e.Rule }

func (c Config) validate() error {
	var errs []error
	check := func(ok bool, field, rule string) {
		if !ok {
			errs = append(errs, &configError{field, rule})
		}
	}
	check(c.BatchSize > 0 && c.BatchSize <= 10000, "BatchSize", fmt.Sprintf("%d must be between 1 and 10000", c.BatchSize))
	check(c.InFlightBatches > 0, "InFlightBatches", "must be positive")
	check(c.Lease > 0, "Lease", "must be positive")
	check(c.MaxAttempts > 0, "MaxAttempts", "must be positive")
	check(c.BackoffInitial > 0 && c.BackoffMax >= c.BackoffInitial, "BackoffMax", "must be at least BackoffInitial, both positive")
	check(c.MissingClientID == missingClientIDSkip || c.MissingClientID == missingClientIDGenerate,
		"MissingClientID", fmt.Sprintf("%q must be skip or generate", c.MissingClientID))
	check(c.UnknownConsent == unknownConsentSend || c.UnknownConsent == unknownConsentDeny,
		"UnknownConsent", fmt.Sprintf("%q must be send or deny", c.UnknownConsent))
	check(c.Retention.DeliveredAfter >= 0 && c.Retention.SkippedAfter >= 0, "Retention", "ages must not be negative")
	check(c.Retention.BatchSize > 0, "Retention.BatchSize", "must be positive")
	if _, err := parseSchedule(c.Schedule); err != nil {
		errs = append(errs, &configError{"Schedule", fmt.Sprintf("%q is not a cron spec: %v", c.Schedule, err)})
	}
	return errors.Join(errs...)
}

func defaultWorkerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", cmp.Or(host, "ga4-outbox"), os.Getpid(), hex.EncodeToString(b))
}
