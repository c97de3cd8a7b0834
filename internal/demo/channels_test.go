package demo_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
	"github.com/ga4-outbox/ga4-outbox/internal/demo"
	"github.com/ga4-outbox/ga4-outbox/outbox"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

func TestSessionsMixChannels(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 3, 14, 18, 0, 0, 0, time.UTC)
	orders, _, err := demo.Generate(demo.Options{End: end})
	require.NoError(t, err)
	sessions := demo.Sessions(orders, 0)
	require.Equal(t, sessions, demo.Sessions(orders, 20260314), "deterministic; 0 is the generator's default seed")
	groups := map[string]int{}
	for _, ch := range sessions {
		groups[ch.Group]++
	}
	require.Len(t, groups, 5)
	require.Greater(t, groups["Organic Search"], groups["Direct"], "a few direct visits, mostly search")
	require.Less(t, groups["Direct"], len(sessions)/5)
}

// TestSessionsCreditInTheEmulator: the demo's orders, sent to an emulator
// seeded with Sessions as the sidecar sends them, come back from its Data
// API credited to their sessions' channels when sent in time, Unassigned
// without a session id and Direct when late: captured -> sent -> credited.
func TestSessionsCreditInTheEmulator(t *testing.T) {
	t.Parallel()
	end := time.Date(2026, 3, 14, 18, 0, 0, 0, time.UTC)
	orders, _, err := demo.Generate(demo.Options{End: end, Orders: 200})
	require.NoError(t, err)
	emu := ga4test.Start(t, &ga4test.Options{Now: func() time.Time { return end }})
	sessions := demo.Sessions(orders, 0)
	require.NoError(t, emu.SeedSessions(sessions))
	client := &http.Client{Transport: &http.Transport{}}
	want := map[string]string{}
	for _, o := range orders {
		if o.Bucket != reconcile.BucketAttributable && o.Bucket != reconcile.BucketMissingSessionID && o.Bucket != reconcile.BucketLate {
			continue // never sent
		}
		c := o.Conversion
		send(t, client, emu.URL, c)
		want[c.TransactionID] = map[string]string{reconcile.BucketAttributable: sessions[c.SessionID].Group,
			reconcile.BucketMissingSessionID: "Unassigned", reconcile.BucketLate: "Direct"}[o.Bucket]
	}
	got := channelsOf(t, client, emu.URL)
	require.Equal(t, want, got)
}

// send posts the order's purchase as the sidecar builds it: the session id
// in params, the in-session time as timestamp_micros.
func send(t *testing.T, client *http.Client, url string, c outbox.Conversion) {
	t.Helper()
	params := map[string]any{"transaction_id": c.TransactionID, "value": json.Number(c.Value), "currency": c.Currency,
		"engagement_time_msec": 1}
	if c.SessionID != "" {
		params["session_id"] = json.Number(c.SessionID)
	}
	at := c.OccurredAt
	if !c.SessionEventAt.IsZero() {
		at = c.SessionEventAt
	}
	body, err := json.Marshal(map[string]any{"client_id": c.ClientID,
		"events": []any{map[string]any{"name": "purchase", "timestamp_micros": at.UnixMicro(), "params": params}}})
	require.NoError(t, err)
	resp, err := client.Post(url+ga4.CollectPath+"?measurement_id=G-DEMO&api_secret=x", "application/json", strings.NewReader(string(body)))
	require.NoError(t, err)
	resp.Body.Close()
}

// channelsOf reads transaction id -> channel group from the Data API.
func channelsOf(t *testing.T, client *http.Client, url string) map[string]string {
	t.Helper()
	req := `{"dateRanges":[{"startDate":"2026-03-10","endDate":"2026-03-14"}],
		"dimensions":[{"name":"transactionId"},{"name":"sessionDefaultChannelGroup"}],"metrics":[{"name":"ecommercePurchases"}]}`
	resp, err := client.Post(url+"/v1beta/properties/1:runReport", "application/json", strings.NewReader(req))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out struct {
		Rows []struct {
			DimensionValues []struct{ Value string } `json:"dimensionValues"`
		} `json:"rows"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	got := map[string]string{}
	for _, r := range out.Rows {
		require.NotContains(t, got, r.DimensionValues[0].Value, "one channel per order")
		got[r.DimensionValues[0].Value] = r.DimensionValues[1].Value
	}
	return got
}
