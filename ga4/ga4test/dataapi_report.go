package ga4test

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The dimensions and metrics the emulated Data API answers, with their
// Data API metadata (the metric's type is its metricHeaders type).
var (
	dataDimensions = map[string]string{
		"transactionId":              "Transaction ID",
		"sessionDefaultChannelGroup": "Session default channel group",
		"sessionSourceMedium":        "Session source / medium",
		"sessionSource":              "Session source",
		"sessionMedium":              "Session medium",
		"sessionCampaignName":        "Session campaign",
		"date":                       "Date",
	}
	dataMetrics = map[string]string{
		"purchaseRevenue":    "TYPE_CURRENCY",
		"totalRevenue":       "TYPE_CURRENCY",
		"ecommercePurchases": "TYPE_INTEGER",
	}
)

// Limits of runReport, as Google documents them.
const (
	defaultReportLimit = 10000
	maxReportLimit     = 250000
	reportTokenCost    = 10 // core tokens the emulator charges per request
	tokensPerDay       = 200000
	tokensPerHour      = 40000
	// tokensPerProjectPerHour: the emulator counts every caller as one
	// project.
	tokensPerProjectPerHour = 14000
)

// reportRequest is the part of RunReportRequest the emulator reads.
type reportRequest struct {
	DateRanges []struct {
		StartDate string `json:"startDate"`
		EndDate   string `json:"endDate"`
	} `json:"dateRanges"`
	Dimensions          []named     `json:"dimensions"`
	Metrics             []named     `json:"metrics"`
	DimensionFilter     *filterExpr `json:"dimensionFilter"`
	Limit               int64String `json:"limit"`
	Offset              int64String `json:"offset"`
	KeepEmptyRows       bool        `json:"keepEmptyRows"`
	ReturnPropertyQuota bool        `json:"returnPropertyQuota"`
}

type named struct {
	Name string `json:"name"`
}

// reportResponse is RunReportResponse as Google's JSON carries it: proto3
// names, zero values left out, metric values as strings.
type reportResponse struct {
	DimensionHeaders []named          `json:"dimensionHeaders,omitempty"`
	MetricHeaders    []metricHeader   `json:"metricHeaders,omitempty"`
	Rows             []reportRow      `json:"rows,omitempty"`
	RowCount         int64            `json:"rowCount,omitempty"`
	Metadata         responseMetadata `json:"metadata"`
	PropertyQuota    *propertyQuota   `json:"propertyQuota,omitempty"`
	Kind             string           `json:"kind"`
}

type metricHeader struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type reportRow struct {
	DimensionValues []value `json:"dimensionValues,omitempty"`
	MetricValues    []value `json:"metricValues,omitempty"`
}

type value struct {
	Value string `json:"value"`
}

type responseMetadata struct {
	CurrencyCode          string `json:"currencyCode"`
	TimeZone              string `json:"timeZone"`
	DataLossFromOtherRow  bool   `json:"dataLossFromOtherRow,omitempty"`
	SubjectToThresholding bool   `json:"subjectToThresholding,omitempty"`
}

type quotaStatus struct {
	Consumed  int64 `json:"consumed"`
	Remaining int64 `json:"remaining"`
}

type propertyQuota struct {
	TokensPerDay                          quotaStatus `json:"tokensPerDay"`
	TokensPerHour                         quotaStatus `json:"tokensPerHour"`
	ConcurrentRequests                    quotaStatus `json:"concurrentRequests"`
	ServerErrorsPerProjectPerHour         quotaStatus `json:"serverErrorsPerProjectPerHour"`
	PotentiallyThresholdedRequestsPerHour quotaStatus `json:"potentiallyThresholdedRequestsPerHour"`
	TokensPerProjectPerHour               quotaStatus `json:"tokensPerProjectPerHour"`
}

// runReport answers one runReport request for property id.
func (s *Server) runReport(id string, body []byte) (any, *apiError) {
	var req reportRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, invalidArgument("Invalid JSON payload received. %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mids, apiErr := s.admitLocked(id)
	if apiErr != nil {
		return nil, apiErr
	}
	from, to, apiErr := s.checkReport(&req)
	if apiErr != nil {
		return nil, apiErr
	}
	s.processPendingLocked()
	resp := s.reportLocked(&req, mids, from, to)
	s.data.spend(s.now())
	if req.ReturnPropertyQuota {
		resp.PropertyQuota = s.data.quota(s.now(), s.faults.ReportThresholding)
		resp.PropertyQuota.consumed(reportTokenCost)
	}
	return resp, nil
}

// checkReport validates the request as Google does and returns its dates.
func (s *Server) checkReport(req *reportRequest) (from, to string, _ *apiError) {
	if len(req.Dimensions) == 0 && len(req.Metrics) == 0 {
		return "", "", invalidArgument("A report must have at least one dimension or metric.")
	}
	for _, d := range req.Dimensions {
		if _, ok := dataDimensions[d.Name]; !ok {
			return "", "", invalidArgument("Field %s is not a valid dimension. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema", d.Name)
		}
	}
	for _, m := range req.Metrics {
		if _, ok := dataMetrics[m.Name]; !ok {
			return "", "", invalidArgument("Field %s is not a valid metric. For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema", m.Name)
		}
	}
	if err := req.DimensionFilter.check(); err != nil {
		return "", "", err
	}
	if req.Limit < 0 || req.Offset < 0 {
		return "", "", invalidArgument("limit and offset must not be negative; got limit %d, offset %d", req.Limit, req.Offset)
	}
	if len(req.DateRanges) != 1 {
		return "", "", invalidArgument("dateRanges: the emulator answers exactly one date range, got %d", len(req.DateRanges))
	}
	return s.dateRange(req.DateRanges[0].StartDate, req.DateRanges[0].EndDate)
}

// dateRange resolves a date range (YYYY-MM-DD, today, yesterday,
// NdaysAgo) to two YYYYMMDD strings in the property's time zone.
func (s *Server) dateRange(start, end string) (string, string, *apiError) {
	from, ok1 := s.date(start)
	to, ok2 := s.date(end)
	switch {
	case !ok1 || !ok2:
		return "", "", invalidArgument("dateRanges: startDate %q and endDate %q must be YYYY-MM-DD, NdaysAgo, yesterday or today", start, end)
	case from > to:
		return "", "", invalidArgument("dateRanges: startDate %s is after endDate %s", start, end)
	}
	return from, to, nil
}

func (s *Server) date(v string) (string, bool) {
	today := s.now().In(s.data.loc)
	switch {
	case v == "today":
		return today.Format("20060102"), true
	case v == "yesterday":
		return today.AddDate(0, 0, -1).Format("20060102"), true
	case strings.HasSuffix(v, "daysAgo"):
		n, err := strconv.Atoi(strings.TrimSuffix(v, "daysAgo"))
		return today.AddDate(0, 0, -n).Format("20060102"), err == nil && n >= 0
	}
	t, err := time.ParseInLocation(time.DateOnly, v, s.data.loc)
	return t.Format("20060102"), err == nil
}

// reportLocked groups the property's purchases in the date range by the
// requested dimensions and pages the rows.
func (s *Server) reportLocked(req *reportRequest, mids []string, from, to string) *reportResponse {
	resp := &reportResponse{Kind: "analyticsData#runReport",
		Metadata: responseMetadata{CurrencyCode: s.data.currency, TimeZone: s.data.loc.String(),
			SubjectToThresholding: s.faults.ReportThresholding}}
	for _, d := range req.Dimensions {
		resp.DimensionHeaders = append(resp.DimensionHeaders, d)
	}
	for _, m := range req.Metrics {
		resp.MetricHeaders = append(resp.MetricHeaders, metricHeader{m.Name, dataMetrics[m.Name]})
	}
	groups := map[string]*group{}
	var keys []string
	for _, p := range s.purchasesLocked(mids) {
		day := s.data.dimensionValue("date", &p)
		if day < from || day > to || !req.DimensionFilter.match(func(f string) string { return s.data.dimensionValue(f, &p) }) {
			continue
		}
		dims := make([]string, len(req.Dimensions))
		other := s.data.drawn(p.tid, "other", s.faults.ReportOtherShare)
		for i, d := range req.Dimensions {
			dims[i] = s.data.dimensionValue(d.Name, &p)
			if other {
				dims[i] = otherValue
			}
		}
		resp.Metadata.DataLossFromOtherRow = resp.Metadata.DataLossFromOtherRow || other
		key := strings.Join(dims, "\x00")
		if groups[key] == nil {
			groups[key] = &group{dims: dims, other: other}
			keys = append(keys, key)
		}
		groups[key].purchases++
		groups[key].revenue += p.revenue
	}
	rows := sortedRows(groups, keys, req)
	resp.RowCount = int64(len(rows))
	limit := int64(req.Limit)
	if limit == 0 {
		limit = defaultReportLimit
	}
	offset := min(int64(req.Offset), int64(len(rows)))
	resp.Rows = rows[offset:min(offset+min(limit, maxReportLimit), int64(len(rows)))]
	return resp
}

// group is one row before its metrics are printed.
type group struct {
	dims      []string
	other     bool
	purchases int64
	revenue   float64
}

// sortedRows prints the groups' rows, by dimension values with the
// "(other)" row last (Google's order is its own; any fixed order pages
// consistently), leaving out rows whose metrics are all zero unless
// keepEmptyRows.
func sortedRows(groups map[string]*group, keys []string, req *reportRequest) []reportRow {
	slices.SortFunc(keys, func(a, b string) int {
		ga, gb := groups[a], groups[b]
		if ga.other != gb.other {
			return map[bool]int{true: 1, false: -1}[ga.other]
		}
		return strings.Compare(a, b)
	})
	rows := []reportRow{}
	for _, k := range keys {
		g := groups[k]
		row := reportRow{}
		for _, d := range g.dims {
			row.DimensionValues = append(row.DimensionValues, value{d})
		}
		empty := true
		for _, m := range req.Metrics {
			v := g.metric(m.Name)
			empty = empty && v == "0"
			row.MetricValues = append(row.MetricValues, value{v})
		}
		if !empty || req.KeepEmptyRows || len(req.Metrics) == 0 {
			rows = append(rows, row)
		}
	}
	return rows
}

func (g *group) metric(name string) string {
	if name == "ecommercePurchases" {
		return strconv.FormatInt(g.purchases, 10)
	}
	return strconv.FormatFloat(math.Round(g.revenue*100)/100, 'f', -1, 64)
}

// spend charges one request's tokens to the hour and the day of now,
// starting a new hour or day (in the property's time zone) when now has
// passed into one.
func (d *dataAPI) spend(now time.Time) {
	d.reset(now)
	d.hourTokens += reportTokenCost
	d.dayTokens += reportTokenCost
}

func (d *dataAPI) reset(now time.Time) {
	if h := now.Truncate(time.Hour); !h.Equal(d.hour) {
		d.hour, d.hourTokens = h, 0
	}
	y, m, dd := now.In(d.loc).Date()
	if day := time.Date(y, m, dd, 0, 0, 0, 0, d.loc); !day.Equal(d.day) {
		d.day, d.dayTokens = day, 0
	}
}

// quota is the property's quota at now: Google's limits for a standard
// property less the tokens spent this hour and day.
func (d *dataAPI) quota(now time.Time, thresholded bool) *propertyQuota {
	d.reset(now)
	q := &propertyQuota{
		TokensPerDay:                          quotaStatus{0, max(tokensPerDay-d.dayTokens, 0)},
		TokensPerHour:                         quotaStatus{0, max(tokensPerHour-d.hourTokens, 0)},
		ConcurrentRequests:                    quotaStatus{0, 10},
		ServerErrorsPerProjectPerHour:         quotaStatus{0, 10},
		TokensPerProjectPerHour:               quotaStatus{0, max(tokensPerProjectPerHour-d.hourTokens, 0)},
		PotentiallyThresholdedRequestsPerHour: quotaStatus{0, 120},
	}
	if thresholded {
		q.PotentiallyThresholdedRequestsPerHour = quotaStatus{1, 119}
	}
	return q
}

// consumed sets what one request spent on each token quota.
func (q *propertyQuota) consumed(tokens int64) {
	q.TokensPerDay.Consumed, q.TokensPerHour.Consumed, q.TokensPerProjectPerHour.Consumed = tokens, tokens, tokens
}

// checkCompatibility answers which of the requested dimensions and metrics
// the property can report together: all the emulator knows are compatible.
func (s *Server) checkCompatibility(id string, body []byte) (any, *apiError) {
	var req struct {
		Dimensions []named `json:"dimensions"`
		Metrics    []named `json:"metrics"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, invalidArgument("Invalid JSON payload received. %v", err)
	}
	s.mu.Lock()
	_, apiErr := s.admitLocked(id)
	s.mu.Unlock()
	if apiErr != nil {
		return nil, apiErr
	}
	type dimCompat struct {
		Compatibility     string         `json:"compatibility"`
		DimensionMetadata map[string]any `json:"dimensionMetadata"`
	}
	type metCompat struct {
		Compatibility  string         `json:"compatibility"`
		MetricMetadata map[string]any `json:"metricMetadata"`
	}
	out := struct {
		DimensionCompatibilities []dimCompat `json:"dimensionCompatibilities,omitempty"`
		MetricCompatibilities    []metCompat `json:"metricCompatibilities,omitempty"`
	}{}
	for _, d := range req.Dimensions {
		ui, ok := dataDimensions[d.Name]
		if !ok {
			return nil, invalidArgument("Field %s is not a valid dimension.", d.Name)
		}
		out.DimensionCompatibilities = append(out.DimensionCompatibilities, dimCompat{"COMPATIBLE",
			map[string]any{"apiName": d.Name, "uiName": ui}})
	}
	for _, m := range req.Metrics {
		typ, ok := dataMetrics[m.Name]
		if !ok {
			return nil, invalidArgument("Field %s is not a valid metric.", m.Name)
		}
		out.MetricCompatibilities = append(out.MetricCompatibilities, metCompat{"COMPATIBLE",
			map[string]any{"apiName": m.Name, "type": typ}})
	}
	return out, nil
}
