// Package outcomestest is a fake GA4 Data API for tests: an httptest
// server answering POST /v1beta/properties/{id}:runReport (in-list
// filter, date range, limit and offset, property quota) and
// :checkCompatibility with Google's JSON, and errors in Google's envelope
// on demand. It records every request body.
package outcomestest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	analyticsdata "google.golang.org/api/analyticsdata/v1beta"
	"google.golang.org/api/option"
)

// Purchase is one row the fake holds for a property: a transaction id in
// one session, on one date (YYYY-MM-DD; empty matches every range).
type Purchase struct {
	Date          string
	TransactionID string
	Channel       string
	SourceMedium  string
	Campaign      string
	Revenue       string
	Purchases     int64
}

// Request is one recorded call.
type Request struct {
	PropertyID string
	Method     string // runReport or checkCompatibility
	Report     *analyticsdata.RunReportRequest
}

// Server is the fake. Set its fields before the calls they affect; they
// are read under its lock.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	purchases map[string][]Purchase
	requests  []Request

	// Currency is the property currency answered. Defaults to EUR.
	Currency string
	// DataLossFromOtherRow, Thresholded and Sampled set the answer's flags.
	DataLossFromOtherRow, Thresholded, Sampled bool
	// TokensLeft is the hourly tokens left reported; each runReport spends
	// TokensPerReport of it. When it reaches zero, runReport answers 429
	// RESOURCE_EXHAUSTED. Defaults to 40000 and 10.
	TokensLeft, TokensPerReport int64
	// Status answers every call on a property with this HTTP status and
	// Google's error envelope (403, 404, ...).
	Status map[string]int
	// Incompatible lists fields checkCompatibility calls INCOMPATIBLE.
	Incompatible []string
	// RejectTokens makes POST /token (a service-account key's token_uri
	// pointed at the fake) answer invalid_grant; otherwise it issues
	// AccessToken.
	RejectTokens bool
	// Authorizations lists the Authorization headers received.
	Authorizations []string
}

// AccessToken is the token POST /token issues.
const AccessToken = "fake-access-token"

// token is an OAuth token endpoint: a service-account key whose token_uri
// is URL+"/token" gets AccessToken, or invalid_grant with RejectTokens.
func (s *Server) token(w http.ResponseWriter) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.RejectTokens {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": AccessToken, "token_type": "Bearer", "expires_in": 3600})
}

// New starts a fake, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{purchases: map[string][]Purchase{}, Currency: "EUR", TokensLeft: 40000, TokensPerReport: 10, Status: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// ClientOptions point a Data API client at the fake, without credentials.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{option.WithoutAuthentication(), option.WithHTTPClient(s.Client())}
}

// Add gives the property purchases.
func (s *Server) Add(propertyID string, p ...Purchase) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purchases[propertyID] = append(s.purchases[propertyID], p...)
}

// Set replaces the property's purchases.
func (s *Server) Set(propertyID string, p ...Purchase) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.purchases[propertyID] = p
}

// Lock runs fn under the fake's lock, to change its fields while clients run.
func (s *Server) Lock(fn func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// ServiceAccountKey writes a service-account key file (a fresh RSA key)
// whose token_uri is the fake's /token, and returns its path.
func (s *Server) ServiceAccountKey(t testing.TB) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	key := map[string]string{"type": "service_account", "project_id": "fake", "private_key_id": "1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "ga4-outbox@fake.iam.gserviceaccount.com", "client_id": "1", "token_uri": s.URL + "/token"}
	b, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "service-account.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Requests returns the calls so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		s.token(w)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/v1beta/properties/")
	id, method, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || r.Method != http.MethodPost {
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such method "+r.Method+" "+r.URL.Path)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := r.Header.Get("Authorization"); a != "" {
		s.Authorizations = append(s.Authorizations, a)
	}
	if code := s.Status[id]; code != 0 {
		writeError(w, code, statusName(code), fmt.Sprintf("fake error %d for property %s", code, id))
		return
	}
	switch method {
	case "runReport":
		s.runReport(w, r, id)
	case "checkCompatibility":
		s.requests = append(s.requests, Request{PropertyID: id, Method: method})
		s.checkCompatibility(w, r)
	default:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such method "+method)
	}
}

func (s *Server) runReport(w http.ResponseWriter, r *http.Request, id string) {
	var req analyticsdata.RunReportRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "body: "+err.Error())
		return
	}
	s.requests = append(s.requests, Request{PropertyID: id, Method: "runReport", Report: &req})
	if s.TokensLeft <= 0 {
		writeError(w, http.StatusTooManyRequests, "RESOURCE_EXHAUSTED", "Exhausted property tokens per hour for a property.")
		return
	}
	s.TokensLeft = max(s.TokensLeft-s.TokensPerReport, 0)
	match := s.matching(id, &req)
	resp := &analyticsdata.RunReportResponse{RowCount: int64(len(match)), Kind: "analyticsData#runReport",
		Metadata: &analyticsdata.ResponseMetaData{CurrencyCode: s.Currency, TimeZone: "Europe/Berlin",
			DataLossFromOtherRow: s.DataLossFromOtherRow, SubjectToThresholding: s.Thresholded},
		PropertyQuota: &analyticsdata.PropertyQuota{
			TokensPerHour:           &analyticsdata.QuotaStatus{Consumed: s.TokensPerReport, Remaining: s.TokensLeft},
			TokensPerDay:            &analyticsdata.QuotaStatus{Consumed: s.TokensPerReport, Remaining: 200000},
			TokensPerProjectPerHour: &analyticsdata.QuotaStatus{Consumed: s.TokensPerReport, Remaining: 14000},
		}}
	if s.Sampled {
		resp.Metadata.SamplingMetadatas = []*analyticsdata.SamplingMetadata{{SamplesReadCount: 1000, SamplingSpaceSize: 5000}}
	}
	for _, d := range req.Dimensions {
		resp.DimensionHeaders = append(resp.DimensionHeaders, &analyticsdata.DimensionHeader{Name: d.Name})
	}
	for _, m := range req.Metrics {
		resp.MetricHeaders = append(resp.MetricHeaders, &analyticsdata.MetricHeader{Name: m.Name, Type: "TYPE_INTEGER"})
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 10000
	}
	for _, p := range match[min(req.Offset, int64(len(match))):min(req.Offset+limit, int64(len(match)))] {
		resp.Rows = append(resp.Rows, rowOf(p, &req))
	}
	writeJSON(w, http.StatusOK, resp)
}

// matching returns the property's purchases the request selects, in
// transaction id order.
func (s *Server) matching(id string, req *analyticsdata.RunReportRequest) []Purchase {
	var ids map[string]bool
	if f := req.DimensionFilter; f != nil && f.Filter != nil && f.Filter.InListFilter != nil && f.Filter.FieldName == "transactionId" {
		ids = map[string]bool{}
		for _, v := range f.Filter.InListFilter.Values {
			ids[v] = true
		}
	}
	var out []Purchase
	for _, p := range s.purchases[id] {
		if ids != nil && !ids[p.TransactionID] {
			continue
		}
		if p.Date != "" && len(req.DateRanges) > 0 && (p.Date < req.DateRanges[0].StartDate || p.Date > req.DateRanges[0].EndDate) {
			continue
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b Purchase) int { return strings.Compare(a.TransactionID, b.TransactionID) })
	return out
}

func rowOf(p Purchase, req *analyticsdata.RunReportRequest) *analyticsdata.Row {
	row := &analyticsdata.Row{}
	for _, d := range req.Dimensions {
		v := map[string]string{"transactionId": p.TransactionID, "sessionDefaultChannelGroup": p.Channel,
			"sessionSourceMedium": p.SourceMedium, "sessionCampaignName": p.Campaign}[d.Name]
		row.DimensionValues = append(row.DimensionValues, &analyticsdata.DimensionValue{Value: v})
	}
	for _, m := range req.Metrics {
		v := map[string]string{"purchaseRevenue": p.Revenue, "ecommercePurchases": fmt.Sprint(p.Purchases)}[m.Name]
		row.MetricValues = append(row.MetricValues, &analyticsdata.MetricValue{Value: v})
	}
	return row
}

func (s *Server) checkCompatibility(w http.ResponseWriter, r *http.Request) {
	var req analyticsdata.CheckCompatibilityRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "body: "+err.Error())
		return
	}
	compat := func(name string) string {
		if slices.Contains(s.Incompatible, name) {
			return "INCOMPATIBLE"
		}
		return "COMPATIBLE"
	}
	resp := &analyticsdata.CheckCompatibilityResponse{}
	for _, d := range req.Dimensions {
		resp.DimensionCompatibilities = append(resp.DimensionCompatibilities, &analyticsdata.DimensionCompatibility{
			Compatibility: compat(d.Name), DimensionMetadata: &analyticsdata.DimensionMetadata{ApiName: d.Name}})
	}
	for _, m := range req.Metrics {
		resp.MetricCompatibilities = append(resp.MetricCompatibilities, &analyticsdata.MetricCompatibility{
			Compatibility: compat(m.Name), MetricMetadata: &analyticsdata.MetricMetadata{ApiName: m.Name}})
	}
	writeJSON(w, http.StatusOK, resp)
}

func statusName(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	}
	return "INTERNAL"
}

// writeError answers with Google's error envelope.
func writeError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
