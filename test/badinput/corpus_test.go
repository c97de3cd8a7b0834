package badinput_test

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// corpusPath is the corpus, relative to this package.
const corpusPath = "../../testdata/bad/rows.jsonl"

// testCase is one line of the corpus.
type testCase struct {
	Name       string                     `json:"name"`
	Why        string                     `json:"why"`
	Row        map[string]json.RawMessage `json:"row"`
	Expect     string                     `json:"expect"`
	Want       *want                      `json:"want"`
	ErrorHas   []string                   `json:"error_has"`
	ErrorLacks []string                   `json:"error_lacks"`
}

// want is what the emulator must receive for a delivered row. Empty fields
// are not checked, except SessionID "" (no session_id param) when the key
// is present.
type want struct {
	ClientID      *string         `json:"client_id"`
	SessionID     *string         `json:"session_id"`
	EventName     string          `json:"event_name"`
	TransactionID *string         `json:"transaction_id"`
	UserID        string          `json:"user_id"`
	Timestamp     string          `json:"timestamp"` // "now" or a duration relative to the start
	Params        map[string]any  `json:"params"`    // nil value: the key must be absent
	Items         int             `json:"items"`
	Consent       json.RawMessage `json:"consent"` // null: no consent object
}

// clock holds the test's reference times.
type clock struct {
	start   time.Time // the test's start, truncated to microseconds
	session int64     // session start, Unix seconds: start - 1h
}

func newClock() clock {
	start := time.Now().Truncate(time.Microsecond)
	return clock{start: start, session: start.Add(-time.Hour).Unix()}
}

// expand replaces the corpus placeholders.
func (c clock) expand(s string) string {
	return strings.NewReplacer(
		"{{S_FUTURE}}", strconv.FormatInt(c.session+2*86400, 10),
		"{{S}}", strconv.FormatInt(c.session, 10),
	).Replace(s)
}

// at turns a relative duration ("-50m", "+2h") into a time.
func (c clock) at(rel string) (time.Time, error) {
	d, err := time.ParseDuration(strings.TrimPrefix(rel, "+"))
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", rel, err)
	}
	return c.start.Add(d), nil
}

func loadCorpus(t *testing.T) []testCase {
	t.Helper()
	f, err := os.Open(corpusPath)
	require.NoError(t, err)
	defer f.Close()
	var cases []testCase
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var tc testCase
		require.NoError(t, json.Unmarshal(sc.Bytes(), &tc), "corpus line %d", line)
		require.NotEmpty(t, tc.Name, "corpus line %d: name", line)
		require.False(t, seen[tc.Name], "corpus line %d: duplicate name %s", line, tc.Name)
		require.Regexp(t, `^(delivered|skipped/[a-z_]+|failed/[a-z_]+|refused/[0-9A-Z]{5})$`, tc.Expect, "corpus line %d", line)
		seen[tc.Name] = true
		cases = append(cases, tc)
	}
	require.NoError(t, sc.Err())
	return cases
}

// baseRow is the good row every corpus line starts from.
func baseRow(name string) map[string]any {
	return map[string]any{
		"event_name":                 "purchase",
		"transaction_id":             "BAD-" + name,
		"value":                      "49.90",
		"currency":                   "EUR",
		"params":                     `{"items":[{"item_id":"SKU-1","item_name":"Tee","price":49.90,"quantity":1}]}`,
		"client_id":                  "1197596843.1673515099",
		"session_id":                 "{{S}}",
		"consent_analytics_storage":  "granted",
		"consent_ad_user_data":       "granted",
		"consent_ad_personalization": "granted",
		"session_event_at":           "-50m",
		"occurred_at":                "-45m",
		"source":                     "badinput:" + name,
	}
}

// columns returns the row's column values for the INSERT: strings with
// placeholders expanded, times resolved, nil for NULL.
func (tc *testCase) columns(c clock) (map[string]any, error) {
	row := baseRow(tc.Name)
	for k, raw := range tc.Row {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", tc.Name, k, err)
		}
		row[k] = v
	}
	if _, gen := row["params_gen"]; gen {
		delete(row, "params")
	}
	out := map[string]any{}
	for k, v := range row {
		switch {
		case k == "params_gen":
			out["params"] = generateParams(v.(string))
		case strings.HasSuffix(k, "_hex"):
			b, err := hex.DecodeString(v.(string))
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", tc.Name, k, err)
			}
			out[strings.TrimSuffix(k, "_hex")] = string(b)
		case v == nil:
			if _, set := out[k]; !set {
				out[k] = nil
			}
		case k == "session_event_at" || k == "occurred_at":
			at, err := c.at(v.(string))
			if err != nil {
				return nil, err
			}
			out[k] = at
		default:
			out[k] = c.expand(v.(string))
		}
	}
	return out, nil
}

// generateParams builds the large params the corpus names.
func generateParams(spec string) string {
	kind, arg, _ := strings.Cut(spec, ":")
	n, _ := strconv.Atoi(arg)
	var m map[string]any
	switch kind {
	case "custom":
		m = map[string]any{}
		for i := 1; i <= n; i++ {
			m[fmt.Sprintf("p%02d", i)] = "x"
		}
	case "blob":
		m = map[string]any{"notes": strings.Repeat("x", n)}
	case "items":
		items := make([]map[string]any, n)
		for i := range items {
			items[i] = map[string]any{"item_id": fmt.Sprintf("SKU-%03d", i), "price": 1, "quantity": 1}
		}
		m = map[string]any{"items": items}
	case "items_big":
		items := make([]map[string]any, n)
		long := strings.Repeat("n", 100)
		for i := range items {
			items[i] = map[string]any{"item_id": fmt.Sprintf("SKU-%03d", i), "item_name": long, "item_brand": long,
				"item_category": long, "item_category2": long, "item_category3": long, "item_category4": long,
				"item_category5": long, "item_variant": long, "item_list_name": long, "price": 1, "quantity": 1}
		}
		m = map[string]any{"items": items}
	case "item_custom":
		item := map[string]any{"item_id": "SKU-1", "price": 1, "quantity": 1}
		for i := 1; i <= n; i++ {
			item[fmt.Sprintf("c%02d", i)] = "x"
		}
		m = map[string]any{"items": []any{item}}
	default:
		panic("unknown params_gen " + spec)
	}
	b, _ := json.Marshal(m)
	return string(b)
}
