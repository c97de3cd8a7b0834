package dataapi_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/outcomes"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/dataapi"
	"github.com/ga4-outbox/ga4-outbox/internal/outcomes/outcomestest"
)

type bundle struct {
	fake   *outcomestest.Server
	client *dataapi.Client
}

func setup(t *testing.T, pageSize int64) bundle {
	t.Helper()
	fake := outcomestest.New(t)
	c, err := dataapi.New(context.Background(), dataapi.Config{Endpoint: fake.URL, PageSize: pageSize, Options: fake.ClientOptions()})
	require.NoError(t, err)
	return bundle{fake: fake, client: c}
}

func TestLookupRequestBody(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	b.fake.Add("123456", outcomestest.Purchase{TransactionID: "A1", Channel: "Organic Search", SourceMedium: "google / organic",
		Campaign: "(organic)", Revenue: "49.90", Purchases: 1})
	a, err := b.client.Lookup(context.Background(), outcomes.Query{PropertyID: "123456", StartDate: "2026-11-19",
		EndDate: "2026-11-21", TransactionIDs: []string{"A1", "A2"}})
	require.NoError(t, err)

	reqs := b.fake.Requests()
	require.Len(t, reqs, 1)
	require.Equal(t, "123456", reqs[0].PropertyID)
	r := reqs[0].Report
	var dims, mets []string
	for _, d := range r.Dimensions {
		dims = append(dims, d.Name)
	}
	for _, m := range r.Metrics {
		mets = append(mets, m.Name)
	}
	require.Equal(t, []string{"transactionId", "sessionDefaultChannelGroup", "sessionSourceMedium", "sessionCampaignName"}, dims)
	require.Equal(t, []string{"purchaseRevenue", "ecommercePurchases"}, mets)
	require.Equal(t, "transactionId", r.DimensionFilter.Filter.FieldName)
	require.Equal(t, []string{"A1", "A2"}, r.DimensionFilter.Filter.InListFilter.Values)
	require.Len(t, r.DateRanges, 1)
	require.Equal(t, "2026-11-19", r.DateRanges[0].StartDate)
	require.Equal(t, "2026-11-21", r.DateRanges[0].EndDate)
	require.True(t, r.ReturnPropertyQuota)
	require.Equal(t, int64(dataapi.DefaultPageSize), r.Limit)
	require.Zero(t, r.Offset)

	require.Equal(t, []outcomes.Row{{TransactionID: "A1", Channel: "Organic Search", SourceMedium: "google / organic",
		Campaign: "(organic)", Revenue: "49.90", Purchases: 1}}, a.Rows)
	require.Equal(t, "EUR", a.Currency)
	require.Equal(t, "Europe/Berlin", a.TimeZone)
	require.NotNil(t, a.Quota)
	require.Equal(t, int64(40000-10), a.Quota.TokensPerHour)
	require.Equal(t, int64(14000), a.Quota.Left(), "the project's hourly tokens run out first")
}

func TestLookupPages(t *testing.T) {
	t.Parallel()
	b := setup(t, 2)
	for _, id := range []string{"E5", "A1", "C3", "B2", "D4"} {
		b.fake.Add("1", outcomestest.Purchase{TransactionID: id, Channel: "Email", Revenue: "1", Purchases: 1})
	}
	a, err := b.client.Lookup(context.Background(), outcomes.Query{PropertyID: "1", StartDate: "2026-01-01", EndDate: "2026-01-03",
		TransactionIDs: []string{"A1", "B2", "C3", "D4", "E5"}})
	require.NoError(t, err)
	var ids []string
	for _, r := range a.Rows {
		ids = append(ids, r.TransactionID)
	}
	require.Equal(t, []string{"A1", "B2", "C3", "D4", "E5"}, ids, "every row once, over three pages")
	var offsets []int64
	for _, r := range b.fake.Requests() {
		offsets = append(offsets, r.Report.Offset)
		require.Equal(t, int64(2), r.Report.Limit)
	}
	require.Equal(t, []int64{0, 2, 4}, offsets)
}

func TestLookupFlags(t *testing.T) {
	t.Parallel()
	b := setup(t, 0)
	b.fake.Lock(func(s *outcomestest.Server) {
		s.DataLossFromOtherRow, s.Thresholded, s.Sampled, s.Currency = true, true, true, "USD"
	})
	a, err := b.client.Lookup(context.Background(), outcomes.Query{PropertyID: "1", StartDate: "2026-01-01", EndDate: "2026-01-03",
		TransactionIDs: []string{"A1"}})
	require.NoError(t, err)
	require.Empty(t, a.Rows)
	require.True(t, a.DataLossFromOtherRow)
	require.True(t, a.Thresholded)
	require.True(t, a.Sampled)
	require.Equal(t, "USD", a.Currency)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := outcomes.Query{PropertyID: "42", StartDate: "2026-01-01", EndDate: "2026-01-03", TransactionIDs: []string{"A1"}}
	for _, tt := range []struct {
		name     string
		status   int
		sentinel error
		says     string
	}{
		{"429 is quota exhausted", 429, outcomes.ErrQuotaExhausted, "quota exhausted (HTTP 429 RESOURCE_EXHAUSTED"},
		{"403 needs the Viewer role", 403, outcomes.ErrPermissionDenied, "the account needs the Viewer role on GA4 property 42"},
		{"404 is no such property", 404, outcomes.ErrPropertyNotFound, "GA4 property 42 does not exist"},
		{"401 is bad credentials", 401, outcomes.ErrCredentials, "rejected the credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, 0)
			b.fake.Lock(func(s *outcomestest.Server) { s.Status["42"] = tt.status })
			_, err := b.client.Lookup(ctx, q)
			require.ErrorIs(t, err, tt.sentinel)
			require.ErrorContains(t, err, tt.says)
			require.ErrorContains(t, err, "runReport property 42")
			err = b.client.Check(ctx, "42")
			require.ErrorIs(t, err, tt.sentinel)
			require.ErrorContains(t, err, "checkCompatibility property 42")
		})
	}
	t.Run("quota spent by earlier reports", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		b.fake.Lock(func(s *outcomestest.Server) { s.TokensLeft = 10 })
		_, err := b.client.Lookup(ctx, q)
		require.NoError(t, err)
		_, err = b.client.Lookup(ctx, q)
		require.ErrorIs(t, err, outcomes.ErrQuotaExhausted)
	})
	t.Run("a measurement id is not a property id", func(t *testing.T) {
		t.Parallel()
		b := setup(t, 0)
		_, err := b.client.Lookup(ctx, outcomes.Query{PropertyID: "G-ABC123"})
		require.ErrorContains(t, err, `property id "G-ABC123": must be the numeric GA4 property id`)
		require.Empty(t, b.fake.Requests(), "nothing sent")
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, 0)
	require.NoError(t, b.client.Check(ctx, "7"))
	b.fake.Lock(func(s *outcomestest.Server) { s.Incompatible = []string{"sessionCampaignName", "ecommercePurchases"} })
	err := b.client.Check(ctx, "7")
	require.ErrorIs(t, err, dataapi.ErrIncompatible)
	require.ErrorContains(t, err, "sessionCampaignName (INCOMPATIBLE), ecommercePurchases (INCOMPATIBLE)")
}

func TestCredentialsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	const secret = "-----BEGIN PRIVATE KEY-----\\nMIIsecretsecret\\n-----END PRIVATE KEY-----\\n"
	for _, tt := range []struct {
		name, path, says string
	}{
		{"missing", filepath.Join(dir, "missing.json"), "cannot read: no such file or directory"},
		{"not JSON", write("garbage.json", "private_key: "+secret), "not a JSON service-account key"},
		{"another kind", write("user.json", `{"type":"authorized_user","refresh_token":"`+secret+`"}`),
			`type "authorized_user": must be a service-account key`},
		{"incomplete", write("partial.json", `{"type":"service_account","private_key":"`+secret+`"}`), "a service-account key needs client_email and private_key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := dataapi.New(context.Background(), dataapi.Config{CredentialsFile: tt.path})
			require.ErrorIs(t, err, outcomes.ErrCredentials)
			require.ErrorContains(t, err, "credentials file "+tt.path+": "+tt.says)
			require.NotContains(t, err.Error(), "secret", "never the file's content")
		})
	}
}

func TestServiceAccountKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fake := outcomestest.New(t)
	key := fake.ServiceAccountKey(t)
	c, err := dataapi.New(ctx, dataapi.Config{CredentialsFile: key, Endpoint: fake.URL})
	require.NoError(t, err)
	require.NoError(t, c.Check(ctx, "7"))
	fake.Lock(func(s *outcomestest.Server) {
		require.Equal(t, []string{"Bearer " + outcomestest.AccessToken}, s.Authorizations, "the key's token is sent")
	})

	fake.Lock(func(s *outcomestest.Server) { s.RejectTokens = true })
	c, err = dataapi.New(ctx, dataapi.Config{CredentialsFile: key, Endpoint: fake.URL})
	require.NoError(t, err)
	err = c.Check(ctx, "7")
	require.ErrorIs(t, err, outcomes.ErrCredentials)
	require.ErrorContains(t, err, "Google refused the credentials")
	t.Log(err)
	content, rerr := os.ReadFile(key)
	require.NoError(t, rerr)
	require.NotContains(t, err.Error(), "PRIVATE KEY")
	require.NotContains(t, err.Error(), string(content[40:80]))
}
