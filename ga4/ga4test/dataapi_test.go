package ga4test_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	analyticsdata "google.golang.org/api/analyticsdata/v1beta"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// sessionStart is the browser session the Data API tests buy in:
// 2026-11-20 10:00 UTC.
var sessionStart = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

var organic = ga4test.Channel{Group: "Organic Search", SourceMedium: "google / organic", Campaign: "(organic)"}

// dataHTTP is the tests' HTTP client: not http.DefaultClient, whose idle
// connections every closing httptest server closes under parallel tests.
var dataHTTP = &http.Client{Transport: &http.Transport{}}

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// mp is one purchase as the sidecar sends it.
type mp struct {
	mid, client, tid, currency string
	session                    any // a number, a string, or nil for none
	value                      any
	at, sent                   time.Time // event time; send time (defaults to at)
}

// sendPurchase posts p to /mp/collect at p.sent.
func sendPurchase(t *testing.T, emu *ga4test.Server, c *clock, p mp) {
	t.Helper()
	params := map[string]any{"transaction_id": p.tid, "currency": p.currency, "value": p.value, "engagement_time_msec": 1}
	if p.session != nil {
		params["session_id"] = p.session
	}
	if p.currency == "" {
		params["currency"] = "USD"
	}
	if p.value == nil {
		params["value"] = 10.5
	}
	body, err := json.Marshal(map[string]any{"client_id": p.client,
		"events": []any{map[string]any{"name": "purchase", "timestamp_micros": p.at.UnixMicro(), "params": params}}})
	require.NoError(t, err)
	if p.sent.IsZero() {
		p.sent = p.at
	}
	c.set(p.sent)
	mid := p.mid
	if mid == "" {
		mid = "G-EMU1"
	}
	resp, err := dataHTTP.Post(emu.URL+ga4.CollectPath+"?measurement_id="+mid+"&api_secret=s", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
}

func startData(t *testing.T, opts *ga4test.Options) (*ga4test.Server, *clock) {
	c := &clock{t: sessionStart}
	if opts == nil {
		opts = &ga4test.Options{}
	}
	opts.Now = c.now
	return ga4test.Start(t, opts), c
}

// dataClient is Google's own Data API client pointed at the emulator.
func dataClient(t *testing.T, emu *ga4test.Server) *analyticsdata.Service {
	t.Helper()
	svc, err := analyticsdata.NewService(context.Background(), option.WithEndpoint(emu.URL+"/"), option.WithoutAuthentication())
	require.NoError(t, err)
	return svc
}

// outcomeRequest is the request the outcome import sends: transaction id x
// channel, source / medium, campaign; revenue and purchases.
func outcomeRequest(tids ...string) *analyticsdata.RunReportRequest {
	req := &analyticsdata.RunReportRequest{
		DateRanges: []*analyticsdata.DateRange{{StartDate: "2026-11-19", EndDate: "2026-11-22"}},
		Dimensions: []*analyticsdata.Dimension{{Name: "transactionId"}, {Name: "sessionDefaultChannelGroup"},
			{Name: "sessionSourceMedium"}, {Name: "sessionCampaignName"}},
		Metrics:             []*analyticsdata.Metric{{Name: "purchaseRevenue"}, {Name: "ecommercePurchases"}},
		ReturnPropertyQuota: true,
	}
	if len(tids) > 0 {
		req.DimensionFilter = &analyticsdata.FilterExpression{Filter: &analyticsdata.Filter{
			FieldName: "transactionId", InListFilter: &analyticsdata.InListFilter{Values: tids}}}
	}
	return req
}

func runReport(t *testing.T, svc *analyticsdata.Service, property string, req *analyticsdata.RunReportRequest) *analyticsdata.RunReportResponse {
	t.Helper()
	resp, err := svc.Properties.RunReport("properties/"+property, req).Context(context.Background()).Do()
	require.NoError(t, err)
	return resp
}

// rowsOf prints each row as its dimension values, then its metric values.
func rowsOf(resp *analyticsdata.RunReportResponse) []string {
	var out []string
	for _, r := range resp.Rows {
		var cells []string
		for _, d := range r.DimensionValues {
			cells = append(cells, d.Value)
		}
		for _, m := range r.MetricValues {
			cells = append(cells, m.Value)
		}
		out = append(out, strings.Join(cells, " | "))
	}
	return out
}

func TestDataAPICreditRules(t *testing.T) {
	t.Parallel()
	sid := fmt.Sprint(sessionStart.Unix())
	in := sessionStart.Add(10 * time.Minute)
	for _, tc := range []struct {
		name string
		p    mp
		seed bool
		want string
	}{
		{"seeded session, sent at once", mp{session: json.Number(sid), at: in}, true,
			"T1 | Organic Search | google / organic | (organic) | 10.5 | 1"},
		{"session id as a digit string", mp{session: sid, at: in}, true,
			"T1 | Organic Search | google / organic | (organic) | 10.5 | 1"},
		{"sent exactly 24 h after the session start", mp{session: json.Number(sid), at: in, sent: sessionStart.Add(24 * time.Hour)}, true,
			"T1 | Organic Search | google / organic | (organic) | 10.5 | 1"},
		{"sent 24 h and 1 s after the session start: Direct", mp{session: json.Number(sid), at: in, sent: sessionStart.Add(24*time.Hour + time.Second)}, true,
			"T1 | Direct | (direct) / (none) | (direct) | 10.5 | 1"},
		{"timestamp before the session: Direct", mp{session: json.Number(sid), at: sessionStart.Add(-time.Minute), sent: in}, true,
			"T1 | Direct | (direct) / (none) | (direct) | 10.5 | 1"},
		{"a session nobody seeded: Direct", mp{session: json.Number(sid), at: in}, false,
			"T1 | Direct | (direct) / (none) | (direct) | 10.5 | 1"},
		{"no session id: Unassigned", mp{at: in}, true,
			"T1 | Unassigned | (not set) | (not set) | 10.5 | 1"},
		{"session id in milliseconds: Unassigned", mp{session: json.Number(sid + "000"), at: in}, true,
			"T1 | Unassigned | (not set) | (not set) | 10.5 | 1"},
		{"value as a string: no revenue", mp{session: json.Number(sid), at: in, value: "10.5"}, true,
			"T1 | Organic Search | google / organic | (organic) | 0 | 1"},
		{"lower-case currency: no revenue", mp{session: json.Number(sid), at: in, currency: "usd"}, true,
			"T1 | Organic Search | google / organic | (organic) | 0 | 1"},
		{"EUR converted to the property's USD", mp{session: json.Number(sid), at: in, currency: "EUR", value: 100}, true,
			"T1 | Organic Search | google / organic | (organic) | 110 | 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			emu, c := startData(t, nil)
			if tc.seed {
				require.NoError(t, emu.SeedSession(sid, organic))
			}
			tc.p.client, tc.p.tid = "1.2", "T1"
			sendPurchase(t, emu, c, tc.p)
			resp := runReport(t, dataClient(t, emu), "123", outcomeRequest("T1"))
			require.Equal(t, []string{tc.want}, rowsOf(resp))
		})
	}
}

func TestDataAPIDuplicatePurchases(t *testing.T) {
	t.Parallel()
	emu, c := startData(t, nil)
	sid := sessionStart.Unix()
	require.NoError(t, emu.SeedSession(fmt.Sprint(sid), organic))
	at := sessionStart.Add(time.Minute)
	// A retry from the same client id is deduplicated; the same id from
	// another client id counts again (Google's older wording: dedup
	// within one user), here without a session: a second row.
	for _, p := range []mp{{client: "1.2", tid: "D1", session: sid}, {client: "1.2", tid: "D1", session: sid},
		{client: "3.4", tid: "D1", session: sid}, {client: "5.6", tid: "D1"}, {client: "1.2", tid: "D2", session: sid}} {
		p.at = at
		sendPurchase(t, emu, c, p)
	}
	resp := runReport(t, dataClient(t, emu), "123", outcomeRequest("D1", "D2"))
	require.Equal(t, []string{
		"D1 | Organic Search | google / organic | (organic) | 21 | 2",
		"D1 | Unassigned | (not set) | (not set) | 10.5 | 1",
		"D2 | Organic Search | google / organic | (organic) | 10.5 | 1",
	}, rowsOf(resp))
	req := outcomeRequest("D1")
	req.Dimensions = req.Dimensions[:1]
	require.Equal(t, []string{"D1 | 31.5 | 3"}, rowsOf(runReport(t, dataClient(t, emu), "123", req)))
}

// TestDataAPIThroughGoogleClient: Google's analyticsdata client reads the
// emulator's answers: headers, metadata, quota, paging, the in-list filter,
// the date range, checkCompatibility and the error envelope.
func TestDataAPIThroughGoogleClient(t *testing.T) {
	t.Parallel()
	emu, c := startData(t, &ga4test.Options{Currency: "EUR",
		Properties: map[string][]string{"123": {"G-EMU1"}, "456": {"G-OTHER"}}})
	for i := range 5 {
		sendPurchase(t, emu, c, mp{client: "1.2", tid: fmt.Sprintf("P%d", i), currency: "EUR", value: 10 + i, at: sessionStart.Add(time.Hour)})
	}
	sendPurchase(t, emu, c, mp{client: "1.2", tid: "LATER", currency: "EUR", at: sessionStart.Add(72 * time.Hour)})
	sendPurchase(t, emu, c, mp{mid: "G-OTHER", client: "1.2", tid: "ELSEWHERE", at: sessionStart.Add(time.Hour)})
	svc := dataClient(t, emu)

	t.Run("headers, metadata and quota", func(t *testing.T) {
		resp := runReport(t, svc, "123", outcomeRequest())
		require.Equal(t, "transactionId", resp.DimensionHeaders[0].Name)
		require.Equal(t, []string{"purchaseRevenue", "TYPE_CURRENCY", "ecommercePurchases", "TYPE_INTEGER"},
			[]string{resp.MetricHeaders[0].Name, resp.MetricHeaders[0].Type, resp.MetricHeaders[1].Name, resp.MetricHeaders[1].Type})
		require.Equal(t, "EUR", resp.Metadata.CurrencyCode)
		require.Equal(t, "UTC", resp.Metadata.TimeZone)
		require.False(t, resp.Metadata.DataLossFromOtherRow || resp.Metadata.SubjectToThresholding)
		require.Equal(t, "analyticsData#runReport", resp.Kind)
		require.EqualValues(t, 5, resp.RowCount, "LATER is after the date range, ELSEWHERE in another property")
		require.NotNil(t, resp.PropertyQuota)
		require.Positive(t, resp.PropertyQuota.TokensPerDay.Consumed)
		require.Less(t, resp.PropertyQuota.TokensPerDay.Remaining, int64(200000))
	})
	t.Run("pages with limit and offset", func(t *testing.T) {
		var got []string
		for offset := int64(0); ; offset += 2 {
			req := outcomeRequest()
			req.Limit, req.Offset = 2, offset
			resp := runReport(t, svc, "123", req)
			require.EqualValues(t, 5, resp.RowCount)
			got = append(got, rowsOf(resp)...)
			if offset+2 >= resp.RowCount {
				break
			}
		}
		require.Equal(t, rowsOf(runReport(t, svc, "123", outcomeRequest())), got)
		require.Len(t, got, 5)
	})
	t.Run("in-list filter", func(t *testing.T) {
		resp := runReport(t, svc, "123", outcomeRequest("p1", "P3", "NOPE"))
		require.Equal(t, []string{"P1 | Unassigned | (not set) | (not set) | 11 | 1", "P3 | Unassigned | (not set) | (not set) | 13 | 1"},
			rowsOf(resp), "case-insensitive unless caseSensitive")
	})
	t.Run("date range", func(t *testing.T) {
		req := outcomeRequest("LATER")
		req.DateRanges[0].EndDate = "2026-11-23"
		require.Len(t, runReport(t, svc, "123", req).Rows, 1)
	})
	t.Run("another property reads its own stream", func(t *testing.T) {
		require.Equal(t, []string{"ELSEWHERE | Unassigned | (not set) | (not set) | 9.55 | 1"},
			rowsOf(runReport(t, svc, "456", outcomeRequest())), "10.50 USD in EUR")
	})
	t.Run("checkCompatibility", func(t *testing.T) {
		resp, err := svc.Properties.CheckCompatibility("properties/123", &analyticsdata.CheckCompatibilityRequest{
			Dimensions: outcomeRequest().Dimensions, Metrics: outcomeRequest().Metrics}).Do()
		require.NoError(t, err)
		require.Len(t, resp.DimensionCompatibilities, 4)
		for _, d := range resp.DimensionCompatibilities {
			require.Equal(t, "COMPATIBLE", d.Compatibility, d.DimensionMetadata.ApiName)
		}
		require.Equal(t, "purchaseRevenue", resp.MetricCompatibilities[0].MetricMetadata.ApiName)
	})
	t.Run("errors", func(t *testing.T) {
		for _, tc := range []struct {
			property string
			req      *analyticsdata.RunReportRequest
			code     int
			message  string
		}{
			{"999", outcomeRequest(), 403, "sufficient permissions"},
			{"G-EMU1", outcomeRequest(), 400, "not a measurement id"},
			{"123", func() *analyticsdata.RunReportRequest {
				r := outcomeRequest()
				r.Dimensions = append(r.Dimensions, &analyticsdata.Dimension{Name: "sessionId"})
				return r
			}(), 400, "Field sessionId is not a valid dimension"},
			{"123", func() *analyticsdata.RunReportRequest {
				r := outcomeRequest()
				r.DateRanges[0].StartDate = "2026-11-30"
				return r
			}(), 400, "is after endDate"},
		} {
			_, err := svc.Properties.RunReport("properties/"+tc.property, tc.req).Do()
			var gerr *googleapi.Error
			require.ErrorAs(t, err, &gerr)
			require.Equal(t, tc.code, gerr.Code)
			require.Contains(t, gerr.Message, tc.message)
		}
	})
}

func TestDataAPIFaults(t *testing.T) {
	t.Parallel()
	emu, c := startData(t, &ga4test.Options{Seed: 7})
	var tids []string
	for i := range 200 {
		tids = append(tids, fmt.Sprintf("F%03d", i))
		sendPurchase(t, emu, c, mp{client: "1.2", tid: tids[i], at: sessionStart})
	}
	svc := dataClient(t, emu)
	ids := func(resp *analyticsdata.RunReportResponse) map[string]bool {
		out := map[string]bool{}
		for _, r := range resp.Rows {
			out[r.DimensionValues[0].Value] = true
		}
		return out
	}

	t.Run("lost purchases are the same at every request", func(t *testing.T) {
		f := emu.Faults()
		f.ReportLoseShare = 0.2
		require.NoError(t, emu.SetFaults(f))
		first := ids(runReport(t, svc, "123", outcomeRequest()))
		require.Equal(t, first, ids(runReport(t, svc, "123", outcomeRequest())))
		require.InDelta(t, 160, len(first), 20, "about 80 %% found")
		for _, tid := range tids {
			require.Equal(t, !first[tid], emu.ReportLoses(tid), "ReportLoses says in advance which are lost: %s", tid)
		}
		f.ReportLoseShare = 0
		require.NoError(t, emu.SetFaults(f))
		require.Len(t, ids(runReport(t, svc, "123", outcomeRequest())), 200)
	})
	t.Run("(other) row and thresholding", func(t *testing.T) {
		require.NoError(t, emu.SetFaults(ga4test.Faults{ReportOtherShare: 0.1, ReportThresholding: true}))
		defer func() { require.NoError(t, emu.SetFaults(ga4test.Faults{})) }()
		resp := runReport(t, svc, "123", outcomeRequest())
		require.True(t, resp.Metadata.DataLossFromOtherRow)
		require.True(t, resp.Metadata.SubjectToThresholding)
		last := resp.Rows[len(resp.Rows)-1]
		require.Equal(t, "(other)", last.DimensionValues[0].Value)
		require.Equal(t, "(other)", last.DimensionValues[1].Value)
		require.Less(t, len(resp.Rows), 200)
		require.EqualValues(t, 1, resp.PropertyQuota.PotentiallyThresholdedRequestsPerHour.Consumed)
	})
	t.Run("429 in Google's envelope", func(t *testing.T) {
		require.NoError(t, emu.SetFaults(ga4test.Faults{ReportNext429: 1}))
		_, err := svc.Properties.RunReport("properties/123", outcomeRequest()).Do()
		var gerr *googleapi.Error
		require.ErrorAs(t, err, &gerr)
		require.Equal(t, 429, gerr.Code)
		require.Contains(t, gerr.Message, "Exhausted property tokens")
		require.Len(t, runReport(t, svc, "123", outcomeRequest()).Rows, 200, "only the next request fails")
		require.Equal(t, 1, emu.Stats().ReportFaults429)
	})
}

// TestDataAPIEnvelope: the raw JSON of an error and of a report, as
// Google writes them.
func TestDataAPIEnvelope(t *testing.T) {
	t.Parallel()
	emu, _ := startData(t, &ga4test.Options{Faults: ga4test.Faults{ReportNext429: 1}})
	post := func(body string) (int, map[string]any) {
		resp, err := dataHTTP.Post(emu.URL+"/v1beta/properties/123:runReport", "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var v map[string]any
		require.NoError(t, json.Unmarshal(b, &v), string(b))
		return resp.StatusCode, v
	}
	req := `{"dateRanges":[{"startDate":"7daysAgo","endDate":"today"}],"metrics":[{"name":"ecommercePurchases"}],"limit":"5"}`
	code, v := post(req)
	require.Equal(t, 429, code)
	require.Equal(t, map[string]any{"code": float64(429), "status": "RESOURCE_EXHAUSTED",
		"message": "Exhausted property tokens per hour quota. Consumed: 40000 tokens; limit: 40000 tokens."}, v["error"])
	code, v = post(req)
	require.Equal(t, 200, code)
	require.Equal(t, map[string]any{"currencyCode": "USD", "timeZone": "UTC"}, v["metadata"])
	require.NotContains(t, v, "rows", "no purchases: no rows, no rowCount")
	code, v = post(`{"dateRanges":[{"startDate":"today","endDate":"today"}],"metrics":[{"name":"ecommercePurchases"}],"limit":"-1"}`)
	require.Equal(t, 400, code)
	require.Equal(t, "INVALID_ARGUMENT", v["error"].(map[string]any)["status"])
}

func TestSeedSessionsOverHTTP(t *testing.T) {
	t.Parallel()
	emu, _ := startData(t, nil)
	body := `{"1763632800": {"group": "Email", "source_medium": "newsletter / email", "campaign": "november"}}`
	req, err := http.NewRequest(http.MethodPut, emu.URL+"/emulator/sessions", strings.NewReader(body))
	require.NoError(t, err)
	resp, err := dataHTTP.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	var got struct{ Sessions map[string]ga4test.Channel }
	getJSON(t, emu.URL+"/emulator/sessions", &got)
	require.Equal(t, map[string]ga4test.Channel{"1763632800": {Group: "Email", SourceMedium: "newsletter / email", Campaign: "november"}}, got.Sessions)

	require.ErrorContains(t, emu.SeedSession("1763632800000", organic), "milliseconds")
	require.ErrorContains(t, emu.SeedSession("1763632800", ga4test.Channel{}), "channel group is empty")
	_, err = ga4test.ParseSessions([]byte(`{"1763632800": {"source_medium": "x"}}`))
	require.ErrorContains(t, err, "group is required")
}

// TestDataAPIQuota: every runReport spends tokens of the hour and the day;
// when the hour's project tokens run out the API answers 429
// RESOURCE_EXHAUSTED until the next hour.
func TestDataAPIQuota(t *testing.T) {
	t.Parallel()
	c := &clock{t: sessionStart}
	emu, err := ga4test.NewServer(&ga4test.Options{Now: c.now})
	require.NoError(t, err)
	report := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		emu.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1beta/properties/1:runReport", strings.NewReader(
			`{"dateRanges":[{"startDate":"today","endDate":"today"}],"metrics":[{"name":"ecommercePurchases"}],"returnPropertyQuota":true}`)))
		var v map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &v))
		return rec.Code, v
	}
	remaining := func(v map[string]any, quota string) float64 {
		return v["propertyQuota"].(map[string]any)[quota].(map[string]any)["remaining"].(float64)
	}
	_, v := report()
	require.Equal(t, float64(13990), remaining(v, "tokensPerProjectPerHour"))
	require.Equal(t, float64(199990), remaining(v, "tokensPerDay"))
	n := 1
	for code := http.StatusOK; code == http.StatusOK; n++ {
		code, v = report()
	}
	require.Equal(t, 1401, n, "14,000 tokens an hour at 10 a request")
	require.Equal(t, "RESOURCE_EXHAUSTED", v["error"].(map[string]any)["status"])

	c.set(sessionStart.Add(time.Hour))
	code, v := report()
	require.Equal(t, http.StatusOK, code, "a new hour")
	require.Equal(t, float64(13990), remaining(v, "tokensPerProjectPerHour"))
	require.Equal(t, float64(200000-14010), remaining(v, "tokensPerDay"), "the day goes on")
}
