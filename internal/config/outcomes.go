package config

import (
	"fmt"
	"regexp"
	"time"
)

// Outcomes configures the outcome import: what GA4 recorded and credited
// for each purchase, read back with the GA4 Data API (docs/OUTCOMES.md).
// The property ids are ga4.property_id and ga4.properties[].property_id;
// without any the import is off.
type Outcomes struct {
	// Schedule is the cron spec of the daily fetch in run, one replica at a
	// time. Defaults to "CRON_TZ=UTC 0 3 * * *" (after the nightly report).
	// "off" disables it; `ga4-outbox outcomes fetch` still works.
	Schedule string `yaml:"schedule"`
	// CredentialsFile is a service-account JSON key file with the Viewer
	// role on each property. Empty: Application Default Credentials
	// (GOOGLE_APPLICATION_CREDENTIALS, ...). GA4_OUTBOX_CREDENTIALS_FILE
	// overrides it.
	CredentialsFile string `yaml:"credentials_file"`
	// Endpoint replaces the Data API's base URL (an emulator). Empty:
	// Google's.
	Endpoint string `yaml:"endpoint"`
	// LookbackDays is the window of a fetch without --since: orders of the
	// last N days whose outcome is missing or provisional. Defaults to 7.
	LookbackDays int `yaml:"lookback_days"`
	// BatchSize caps the transaction ids of one Data API query (1 to
	// 10000). Defaults to 500.
	BatchSize int `yaml:"batch_size"`
	// MinQuotaTokens is the margin of Data API tokens left to the
	// property's other users: a fetch stops querying a property once
	// fewer are left. Defaults to 1000; 0 spends the quota to the end.
	MinQuotaTokens int64 `yaml:"min_quota_tokens"`
	// FinalAfter is the order age at which an outcome is final (GA4's data
	// changes for 24-48 h). Defaults to 72h.
	FinalAfter Duration `yaml:"final_after"`
	// Settle is the age an order must reach before it is looked up at all:
	// GA4's daily data is about 12 h late, so a younger order would be
	// stored as not found only because GA4 has not processed it yet.
	// Defaults to 24h; 0 looks up orders of any age (an emulator).
	Settle Duration `yaml:"settle"`
}

func defaultOutcomes() Outcomes {
	return Outcomes{Schedule: "CRON_TZ=UTC 0 3 * * *", LookbackDays: 7, BatchSize: 500, MinQuotaTokens: 1000,
		FinalAfter: Duration(72 * time.Hour), Settle: Duration(24 * time.Hour)}
}

var propertyIDRe = regexp.MustCompile(`^[0-9]{1,20}$`)

// ValidPropertyID reports whether id looks like a numeric GA4 property id.
func ValidPropertyID(id string) bool { return propertyIDRe.MatchString(id) }

const propertyIDRule = "%q is not a GA4 property id (the number in Admin > Property details, e.g. 123456789; not the G- measurement id)"

func (c *Config) validateOutcomes() []error {
	var errs []error
	check := func(ok bool, key, rule string) {
		if !ok {
			errs = append(errs, &FieldError{Key: key, Rule: rule})
		}
	}
	check(c.GA4.PropertyID == "" || ValidPropertyID(c.GA4.PropertyID), "ga4.property_id", fmt.Sprintf(propertyIDRule, c.GA4.PropertyID))
	for i, p := range c.GA4.Properties {
		check(p.PropertyID == "" || ValidPropertyID(p.PropertyID), fmt.Sprintf("ga4.properties[%d].property_id", i), fmt.Sprintf(propertyIDRule, p.PropertyID))
	}
	o := c.Outcomes
	check(o.Schedule == "off" || validCron(o.Schedule), "outcomes.schedule", fmt.Sprintf("%q is not a cron spec (e.g. \"CRON_TZ=UTC 0 3 * * *\") or off", o.Schedule))
	check(o.Endpoint == "" || validBaseURL(o.Endpoint), "outcomes.endpoint", fmt.Sprintf("%q: must be an http(s) base URL without query, e.g. http://127.0.0.1:9411", o.Endpoint))
	check(o.LookbackDays > 0 && o.LookbackDays <= 3650, "outcomes.lookback_days", "must be between 1 and 3650")
	check(o.BatchSize > 0 && o.BatchSize <= 10000, "outcomes.batch_size", "must be between 1 and 10000")
	check(o.MinQuotaTokens >= 0, "outcomes.min_quota_tokens", "must not be negative")
	check(o.FinalAfter > 0, "outcomes.final_after", "must be positive")
	check(o.Settle >= 0 && o.Settle < o.FinalAfter, "outcomes.settle", "must be between 0 and outcomes.final_after (excluded)")
	return errs
}

// OutcomeProperty pairs a measurement id with its property id.
type OutcomeProperty struct {
	// MeasurementID is empty for the default property (rows without a
	// measurement id, or with ga4.measurement_id).
	MeasurementID string
	PropertyID    string
}

// OutcomeProperties lists the properties whose outcomes are fetched: the
// default property and every listed property with a property id.
func (c *Config) OutcomeProperties() []OutcomeProperty {
	var out []OutcomeProperty
	if c.GA4.PropertyID != "" {
		out = append(out, OutcomeProperty{PropertyID: c.GA4.PropertyID})
	}
	for _, p := range c.GA4.Properties {
		if p.PropertyID != "" {
			out = append(out, OutcomeProperty{MeasurementID: p.MeasurementID, PropertyID: p.PropertyID})
		}
	}
	return out
}
