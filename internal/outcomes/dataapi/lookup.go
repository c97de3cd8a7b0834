package dataapi

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	analyticsdata "google.golang.org/api/analyticsdata/v1beta"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
)

// Lookup runs one report on the property: the transaction ids of q (an
// in-list filter) by session channel group, source / medium and campaign,
// with purchase revenue and purchases, over q's dates; it reads every page
// (limit and offset until rowCount) and asks for the property's quota.
// A 429 RESOURCE_EXHAUSTED wraps outcomes.ErrQuotaExhausted; the rows of
// earlier pages are dropped with it (an id may span pages).
func (c *Client) Lookup(ctx context.Context, q outcomes.Query) (*outcomes.Answer, error) {
	name, err := resource(q.PropertyID)
	if err != nil {
		return nil, fmt.Errorf("runReport: %w", err)
	}
	req := reportRequest(q, c.pageSize)
	a := &outcomes.Answer{}
	for {
		resp, err := c.svc.Properties.RunReport(name, req).Context(ctx).Do()
		if err != nil {
			return nil, apiError("runReport", q.PropertyID, err)
		}
		if err := addPage(a, resp); err != nil {
			return nil, fmt.Errorf("runReport property %s: %w", q.PropertyID, err)
		}
		req.Offset += int64(len(resp.Rows))
		if len(resp.Rows) == 0 || req.Offset >= resp.RowCount {
			return a, nil
		}
	}
}

// reportRequest is the runReport body for q, first page.
func reportRequest(q outcomes.Query, pageSize int64) *analyticsdata.RunReportRequest {
	req := &analyticsdata.RunReportRequest{
		DateRanges: []*analyticsdata.DateRange{{StartDate: q.StartDate, EndDate: q.EndDate}},
		DimensionFilter: &analyticsdata.FilterExpression{Filter: &analyticsdata.Filter{
			FieldName:    "transactionId",
			InListFilter: &analyticsdata.InListFilter{Values: q.TransactionIDs, CaseSensitive: true},
		}},
		// A stable order, so that pages neither skip nor repeat rows.
		OrderBys:            []*analyticsdata.OrderBy{{Dimension: &analyticsdata.DimensionOrderBy{DimensionName: "transactionId"}}},
		Limit:               pageSize,
		ReturnPropertyQuota: true,
	}
	for _, d := range Dimensions {
		req.Dimensions = append(req.Dimensions, &analyticsdata.Dimension{Name: d})
	}
	for _, m := range Metrics {
		req.Metrics = append(req.Metrics, &analyticsdata.Metric{Name: m})
	}
	return req
}

// addPage adds one response page to a: its rows, its flags (any page's
// flag counts) and the quota left after it.
func addPage(a *outcomes.Answer, resp *analyticsdata.RunReportResponse) error {
	cols, err := columnsOf(resp)
	if err != nil {
		return err
	}
	for i, r := range resp.Rows {
		row, err := rowOf(r, cols)
		if err != nil {
			return fmt.Errorf("row %d: %w", i, err)
		}
		a.Rows = append(a.Rows, row)
	}
	if m := resp.Metadata; m != nil {
		a.Currency = cmpOr(m.CurrencyCode, a.Currency)
		a.TimeZone = cmpOr(m.TimeZone, a.TimeZone)
		a.DataLossFromOtherRow = a.DataLossFromOtherRow || m.DataLossFromOtherRow
		a.Thresholded = a.Thresholded || m.SubjectToThresholding
		a.Sampled = a.Sampled || len(m.SamplingMetadatas) > 0
	}
	if pq := resp.PropertyQuota; pq != nil {
		a.Quota = &outcomes.Quota{TokensPerDay: remaining(pq.TokensPerDay), TokensPerHour: remaining(pq.TokensPerHour),
			TokensPerProjectPerHour: remaining(pq.TokensPerProjectPerHour)}
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// remaining reads a quota status; an absent one does not limit.
func remaining(s *analyticsdata.QuotaStatus) int64 {
	if s == nil {
		return 1<<63 - 1
	}
	return s.Remaining
}

// columns are the positions of the values a row needs.
type columns struct{ dims, mets []int }

// columnsOf finds each requested dimension and metric by the response's
// headers; without headers, the request's order.
func columnsOf(resp *analyticsdata.RunReportResponse) (columns, error) {
	c := columns{dims: make([]int, len(Dimensions)), mets: make([]int, len(Metrics))}
	find := func(names []string, headers []string, out []int) error {
		for i, n := range names {
			out[i] = i
			if len(headers) == 0 {
				continue
			}
			out[i] = indexOf(headers, n)
			if out[i] < 0 {
				return fmt.Errorf("the answer has no column %s", n)
			}
		}
		return nil
	}
	var dh, mh []string
	for _, h := range resp.DimensionHeaders {
		dh = append(dh, h.Name)
	}
	for _, h := range resp.MetricHeaders {
		mh = append(mh, h.Name)
	}
	if err := find(Dimensions, dh, c.dims); err != nil {
		return c, err
	}
	return c, find(Metrics, mh, c.mets)
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// rowOf reads one row.
func rowOf(r *analyticsdata.Row, c columns) (outcomes.Row, error) {
	dim := func(i int) string {
		if c.dims[i] < len(r.DimensionValues) && r.DimensionValues[c.dims[i]] != nil {
			return r.DimensionValues[c.dims[i]].Value
		}
		return ""
	}
	met := func(i int) string {
		if c.mets[i] < len(r.MetricValues) && r.MetricValues[c.mets[i]] != nil {
			return r.MetricValues[c.mets[i]].Value
		}
		return ""
	}
	row := outcomes.Row{TransactionID: dim(0), Channel: dim(1), SourceMedium: dim(2), Campaign: dim(3), Revenue: met(0)}
	p := strings.TrimSpace(met(1))
	if p == "" {
		return row, nil
	}
	n, err := strconv.ParseFloat(p, 64)
	if err != nil || n < 0 || n != float64(int64(n)) {
		return row, fmt.Errorf("ecommercePurchases %q is not a whole number", p)
	}
	row.Purchases = int64(n)
	return row, nil
}
