package config_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
)

func TestOutcomeProperties(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte(`
ga4:
  measurement_id: G-SHOP1
  property_id: "1001"
  properties:
    - {measurement_id: G-SHOP2, api_secret_env: S2, property_id: "2002"}
    - {measurement_id: G-SHOP3, api_secret_env: S3}
`), envOf(map[string]string{"S2": "x", "S3": "y"}))
	require.NoError(t, err)
	require.Equal(t, []config.OutcomeProperty{{PropertyID: "1001"}, {MeasurementID: "G-SHOP2", PropertyID: "2002"}}, cfg.OutcomeProperties(),
		"G-SHOP3 has no property id: not fetched")
	require.Equal(t, "CRON_TZ=UTC 0 3 * * *", cfg.Outcomes.Schedule)

	cfg, err = config.Parse(nil, envOf(map[string]string{"GA4_PROPERTY_ID": "77", "GA4_OUTBOX_CREDENTIALS_FILE": "/run/key.json"}))
	require.NoError(t, err)
	require.Equal(t, []config.OutcomeProperty{{PropertyID: "77"}}, cfg.OutcomeProperties())
	require.Equal(t, "/run/key.json", cfg.Outcomes.CredentialsFile)

	cfg, err = config.Parse(nil, envOf(nil))
	require.NoError(t, err)
	require.Empty(t, cfg.OutcomeProperties(), "off by default")
}

func TestOutcomesBadInput(t *testing.T) {
	t.Parallel()
	for yaml, want := range map[string]string{
		"ga4: {property_id: G-ABC123}": `config: ga4.property_id: "G-ABC123" is not a GA4 property id`,
		"ga4: {properties: [{measurement_id: G-SHOP2, api_secret_env: S, property_id: 'properties/12'}]}": `config: ga4.properties[0].property_id: "properties/12" is not a GA4 property id`,
		"outcomes: {schedule: daily}":         `config: outcomes.schedule: "daily" is not a cron spec`,
		"outcomes: {lookback_days: 0}":        "config: outcomes.lookback_days: must be between 1 and 3650",
		"outcomes: {batch_size: 20000}":       "config: outcomes.batch_size: must be between 1 and 10000",
		"outcomes: {min_quota_tokens: -1}":    "config: outcomes.min_quota_tokens: must not be negative",
		"outcomes: {final_after: 0s}":         "config: outcomes.final_after: must be positive",
		"outcomes: {settle: -1h}":             "config: outcomes.settle: must be between 0 and outcomes.final_after (excluded)",
		"outcomes: {settle: 72h}":             "config: outcomes.settle: must be between 0 and outcomes.final_after (excluded)",
		"outcomes: {endpoint: 'ftp://x'}":     `config: outcomes.endpoint: "ftp://x": must be an http(s) base URL`,
		"outcomes: {credentials_fle: x.json}": "config: outcomes.credentials_fle: unknown key (line 1); did you mean outcomes.credentials_file?",
	} {
		_, err := config.Parse([]byte(yaml), envOf(map[string]string{"S": "x"}))
		require.ErrorContains(t, err, want, yaml)
	}
}
