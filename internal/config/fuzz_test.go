package config_test

import (
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ga4-outbox/ga4-outbox/internal/config"
)

// fuzzSecret is the API secret the fuzzed environment holds; no error and
// no printed configuration may contain it.
const fuzzSecret = "fuzz-api-secret-9f8e7d"

func fuzzEnv(k string) string {
	return map[string]string{"GA4_API_SECRET": fuzzSecret, "HOME": "/home/x", "EMPTY": ""}[k]
}

// FuzzParse feeds arbitrary bytes to the config loader. It must never
// panic; an accepted configuration must pass Validate and print (YAML, %v,
// %+v, %#v) without the secret; a rejected one must say so in an error that
// does not contain the secret.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "database:\n  url: postgres://u@h/db\n", "poller:\n  batch_size: 0\n", "poller:\n  lease: soon\n",
		"ga4:\n  measurement_id: G-ABC123\n  endpoint: http://127.0.0.1:9411\n", "nope: 1\n", "poller: [1, 2]\n",
		"ga4:\n  properties:\n    - measurement_id: G-OTHER1\n      api_secret_env: GA4_API_SECRET\n",
		"reconcile:\n  formats: [pdf]\n", "metrics:\n  addr: ${HOME}\n", "\t\x00\xff", "a: &a [*a]\n",
		"poller:\n  listen: maybe\n", "retention:\n  delivered_after: -1h\n", "---\n---\n", "ga4: !!binary aGk=\n",
		"poller:\n  schedule: \"@every 0s\"\n", "poller:\n  batch_size: 99999999999999999999\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, err := config.Parse(raw, fuzzEnv)
		if err != nil {
			if strings.Contains(err.Error(), fuzzSecret) && !strings.Contains(string(raw), fuzzSecret) &&
				!strings.Contains(string(raw), "$") {
				t.Fatalf("error contains the secret: %v", err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		out, err := yaml.Marshal(cfg)
		if err != nil {
			t.Fatalf("accepted config does not print: %v", err)
		}
		printed := string(out) + fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)
		if cfg.GA4.APISecret.Reveal() == fuzzSecret && strings.Contains(printed, fuzzSecret) {
			t.Fatalf("printed config contains the secret:\n%s", printed)
		}
	})
}

// TestParseErrorNeverEchoesSecret: a secret expanded by mistake into a
// validated key (GA4_API_SECRET and GA4_MEASUREMENT_ID are easy to swap)
// must not be printed back in the error, which ends up in the logs of a
// crash-looping pod.
func TestParseErrorNeverEchoesSecret(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		"ga4:\n  measurement_id: ${GA4_API_SECRET}\n",
		"ga4:\n  region: ${GA4_API_SECRET}\n",
		"ga4:\n  endpoint: ${GA4_API_SECRET}\n",
		"poller:\n  schedule: ${GA4_API_SECRET}\n",
		"poller:\n  lease: ${GA4_API_SECRET}\n",
	} {
		_, err := config.Parse([]byte(doc), fuzzEnv)
		if err == nil {
			t.Fatalf("%q: accepted", doc)
		}
		if strings.Contains(err.Error(), fuzzSecret) {
			t.Errorf("%q: the error repeats the API secret: %v", strings.TrimSpace(doc), err)
		}
	}
}
