package ga4test_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// The Data API credits a purchase sent within 24 h of its session start to
// the channel seeded for that session, and one without a session id to
// Unassigned.
func ExampleServer_SeedSession() {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	emu, err := ga4test.NewServer(&ga4test.Options{Now: func() time.Time { return start.Add(30 * time.Minute) }})
	if err != nil {
		panic(err)
	}
	sid := fmt.Sprint(start.Unix())
	if err := emu.SeedSession(sid, ga4test.Channel{Group: "Email", SourceMedium: "newsletter / email", Campaign: "spring"}); err != nil {
		panic(err)
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()

	for tid, session := range map[string]string{"ORD-1": `"session_id":` + sid + `,`, "ORD-2": ""} {
		body := `{"client_id":"1.2","events":[{"name":"purchase","params":{` + session +
			`"transaction_id":"` + tid + `","value":30.03,"currency":"USD"}}]}`
		resp, err := http.Post(srv.URL+"/mp/collect?measurement_id=G-X&api_secret=s", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
	}

	req := `{"dateRanges":[{"startDate":"today","endDate":"today"}],
		"dimensions":[{"name":"transactionId"},{"name":"sessionDefaultChannelGroup"},{"name":"sessionSourceMedium"}],
		"metrics":[{"name":"purchaseRevenue"}]}`
	resp, err := http.Post(srv.URL+"/v1beta/properties/123456789:runReport", "application/json", strings.NewReader(req))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var report struct {
		Rows []struct {
			DimensionValues []struct{ Value string } `json:"dimensionValues"`
			MetricValues    []struct{ Value string } `json:"metricValues"`
		} `json:"rows"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&report); err != nil {
		panic(err)
	}
	for _, r := range report.Rows {
		fmt.Println(r.DimensionValues[0].Value, "|", r.DimensionValues[1].Value, "|", r.DimensionValues[2].Value, "|", r.MetricValues[0].Value)
	}
	// Output:
	// ORD-1 | Email | newsletter / email | 30.03
	// ORD-2 | Unassigned | (not set) | 30.03
}

// ReportLoses tells in advance which purchases the Data API's lost share
// (Faults.ReportLoseShare) leaves out of every answer: the same ids at
// every request and every run of a seed.
func ExampleServer_ReportLoses() {
	emu, err := ga4test.NewServer(&ga4test.Options{Seed: 3, Faults: ga4test.Faults{ReportLoseShare: 0.5}})
	if err != nil {
		panic(err)
	}
	for i := 1; i <= 6; i++ {
		tid := fmt.Sprintf("ORD-%d", i)
		fmt.Println(tid, "lost:", emu.ReportLoses(tid))
	}
	// Output:
	// ORD-1 lost: false
	// ORD-2 lost: true
	// ORD-3 lost: false
	// ORD-4 lost: false
	// ORD-5 lost: true
	// ORD-6 lost: false
}
