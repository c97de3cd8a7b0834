package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEmulatorDataAPI: --sessions seeds the channels and --property maps a
// property to its stream; runReport credits a purchase to its session's
// seeded channel.
func TestEmulatorDataAPI(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(-5 * time.Minute).Unix()
	sessions := filepath.Join(t.TempDir(), "sessions.json")
	require.NoError(t, os.WriteFile(sessions, fmt.Appendf(nil,
		`{"%d": {"group": "Email", "source_medium": "newsletter / email", "campaign": "spring"}}`, start), 0o600))
	url, _ := startEmulator(t, nil, "--sessions", sessions, "--property", "123=G-EMU1", "--currency", "EUR")

	body := fmt.Sprintf(`{"client_id":"1.2","events":[{"name":"purchase","params":{"session_id":%d,
		"engagement_time_msec":1,"transaction_id":"ORD-1","value":30.03,"currency":"EUR"}}]}`, start)
	resp, err := http.Post(url+"/mp/collect?measurement_id=G-EMU1&api_secret=x", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()

	report := func(property string) (int, map[string]any) {
		req := `{"dateRanges":[{"startDate":"yesterday","endDate":"today"}],"dimensions":[{"name":"transactionId"},
			{"name":"sessionDefaultChannelGroup"},{"name":"sessionCampaignName"}],"metrics":[{"name":"purchaseRevenue"}]}`
		resp, err := http.Post(url+"/v1beta/properties/"+property+":runReport", "application/json", strings.NewReader(req))
		require.NoError(t, err)
		defer resp.Body.Close()
		var v map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		return resp.StatusCode, v
	}
	code, v := report("123")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, []any{map[string]any{
		"dimensionValues": []any{map[string]any{"value": "ORD-1"}, map[string]any{"value": "Email"}, map[string]any{"value": "spring"}},
		"metricValues":    []any{map[string]any{"value": "30.03"}},
	}}, v["rows"])
	require.Equal(t, "EUR", v["metadata"].(map[string]any)["currencyCode"])
	code, v = report("999")
	require.Equal(t, http.StatusForbidden, code)
	require.Equal(t, "PERMISSION_DENIED", v["error"].(map[string]any)["status"])
}

func TestEmulatorDataAPIBadFlags(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"1763632800000": {"group": "Email"}}`), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--sessions", bad}, "milliseconds"},
		{[]string{"--sessions", filepath.Join(t.TempDir(), "missing.json")}, "--sessions"},
		{[]string{"--property", "123"}, "want ID=G-XXXX"},
		{[]string{"--property", "G-EMU1=G-EMU1"}, "not a numeric GA4 property id"},
		{[]string{"--currency", "XYZ"}, "converts only"},
	} {
		res := runCmd(t, nil, append([]string{"emulator", "--addr", "127.0.0.1:0"}, tc.args...)...)
		require.Equal(t, 2, res.code, "%v: %s", tc.args, res.stderr)
		require.Contains(t, res.stderr, tc.want, tc.args)
	}
}
