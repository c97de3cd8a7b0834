package outbox_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

func partialRefund(txID, refundID, value string) outbox.Refund {
	return outbox.Refund{
		TransactionID: txID, RefundID: refundID, Value: value, Currency: "EUR",
		Items:  []outbox.Item{{ItemID: "SKU-1", Price: "24.95", Quantity: 1}},
		Source: "stripe_webhook",
	}
}

// refundRow is what a test reads back of a refund row.
type refundRow struct {
	TransactionID, RefundID, Value, Currency                   string
	ClientID, UserID, MeasurementID                            string
	AnalyticsStorage, AdUserData, AdPersonalization, SessionID string
	Params                                                     map[string]any
}

func readRefund(t *testing.T, tx pgx.Tx, id int64) refundRow {
	t.Helper()
	var r refundRow
	var params []byte
	err := tx.QueryRow(context.Background(), `SELECT transaction_id, coalesce(refund_id, ''), coalesce(value::text, ''),
		coalesce(currency, ''), coalesce(client_id, ''), coalesce(user_id, ''), coalesce(measurement_id, ''),
		coalesce(consent_analytics_storage, ''), coalesce(consent_ad_user_data, ''), coalesce(consent_ad_personalization, ''),
		coalesce(session_id, ''), params
		FROM ga4_outbox.events WHERE id = $1 AND event_name = 'refund'`, id).Scan(&r.TransactionID, &r.RefundID, &r.Value,
		&r.Currency, &r.ClientID, &r.UserID, &r.MeasurementID, &r.AnalyticsStorage, &r.AdUserData, &r.AdPersonalization,
		&r.SessionID, &params)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(params, &r.Params))
	return r
}

func countRows(t *testing.T, tx pgx.Tx, txID string) int {
	t.Helper()
	var n int
	require.NoError(t, tx.QueryRow(context.Background(),
		`SELECT count(*) FROM ga4_outbox.events WHERE event_name = 'refund' AND transaction_id = $1`, txID).Scan(&n))
	return n
}

func TestEnqueueRefund(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("SeveralPartialRefundsOfOneOrder", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		_, err := outbox.Enqueue(ctx, tx, purchase("T-partial"))
		require.NoError(t, err)
		first, err := outbox.EnqueueRefund(ctx, tx, partialRefund("T-partial", "re_1", "24.95"))
		require.NoError(t, err)
		second, err := outbox.EnqueueRefund(ctx, tx, partialRefund("T-partial", "re_2", "10.00"))
		require.NoError(t, err)
		require.False(t, first.Duplicate || second.Duplicate)
		require.NotEqual(t, first.ID, second.ID)
		require.Equal(t, 2, countRows(t, tx, "T-partial"))
		got := readRefund(t, tx, second.ID)
		require.Equal(t, []string{"re_2", "10.00", "EUR"}, []string{got.RefundID, got.Value, got.Currency})
		require.Equal(t, "re_2", got.Params["refund_id"], "sent as an event parameter")
		require.Len(t, got.Params["items"], 1)
	})

	t.Run("RetriedWebhookEnqueuesOnce", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		first, err := outbox.EnqueueRefund(ctx, tx, partialRefund("T-retry", "re_9", "5.00"))
		require.NoError(t, err)
		again, err := outbox.EnqueueRefund(ctx, tx, partialRefund("T-retry", "re_9", "5.00"))
		require.NoError(t, err, "a retried webhook does not abort the transaction")
		require.Equal(t, outbox.EnqueueResult{ID: first.ID, Duplicate: true}, again)
		require.Equal(t, 1, countRows(t, tx, "T-retry"))
	})

	t.Run("WithoutRefundIDOnePerOrder", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		full := outbox.Refund{TransactionID: "T-noid"}
		first, err := outbox.EnqueueRefund(ctx, tx, full)
		require.NoError(t, err)
		again, err := outbox.EnqueueRefund(ctx, tx, full)
		require.NoError(t, err)
		require.Equal(t, outbox.EnqueueResult{ID: first.ID, Duplicate: true}, again)
		withID, err := outbox.EnqueueRefund(ctx, tx, partialRefund("T-noid", "re_1", "1.00"))
		require.NoError(t, err)
		require.False(t, withID.Duplicate, "a refund with an id is another key")
		c := purchase("T-noid")
		c.EventName = "refund"
		viaConversion, err := outbox.Enqueue(ctx, tx, c)
		require.NoError(t, err)
		require.Equal(t, outbox.EnqueueResult{ID: first.ID, Duplicate: true}, viaConversion,
			"a refund Conversion is the refund without an id, and finds that row, not re_1")
	})

	t.Run("InheritsIdsAndConsentFromThePurchase", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		_, err := outbox.Enqueue(ctx, tx, purchase("T-inherit"))
		require.NoError(t, err)
		res, err := outbox.EnqueueRefund(ctx, tx, partialRefund("T-inherit", "re_1", "24.95"))
		require.NoError(t, err)
		got := readRefund(t, tx, res.ID)
		require.Equal(t, []string{"1197596843.1673515099", "u-42", "G-OTHER123"}, []string{got.ClientID, got.UserID, got.MeasurementID})
		require.Equal(t, []string{"granted", "granted", "denied"}, []string{got.AnalyticsStorage, got.AdUserData, got.AdPersonalization})
		require.Empty(t, got.SessionID, "a refund happens outside the purchase's session")
	})

	t.Run("OwnConsentWins", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		_, err := outbox.Enqueue(ctx, tx, purchase("T-own"))
		require.NoError(t, err)
		r := partialRefund("T-own", "re_1", "24.95")
		r.AnalyticsStorage, r.AdPersonalization, r.ClientID = outbox.ConsentDenied, outbox.ConsentGranted, "5.6"
		res, err := outbox.EnqueueRefund(ctx, tx, r)
		require.NoError(t, err)
		got := readRefund(t, tx, res.ID)
		require.Equal(t, []string{"denied", "granted", "granted"}, []string{got.AnalyticsStorage, got.AdUserData, got.AdPersonalization},
			"given fields win, the missing one comes from the purchase")
		require.Equal(t, "5.6", got.ClientID)
	})

	t.Run("FullRefundTakesThePurchaseValue", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		_, err := outbox.Enqueue(ctx, tx, purchase("T-full"))
		require.NoError(t, err)
		res, err := outbox.EnqueueRefund(ctx, tx, outbox.Refund{TransactionID: "T-full", RefundID: "re_full"})
		require.NoError(t, err)
		got := readRefund(t, tx, res.ID)
		require.Equal(t, []string{"49.90", "EUR"}, []string{got.Value, got.Currency})
	})

	t.Run("RefundLargerThanThePurchaseIsKept", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		_, err := outbox.Enqueue(ctx, tx, purchase("T-over"))
		require.NoError(t, err)
		res, err := outbox.EnqueueRefund(ctx, tx, partialRefund("T-over", "re_1", "500.00"))
		require.NoError(t, err, "kept (the report flags it), not refused")
		require.Equal(t, "500.00", readRefund(t, tx, res.ID).Value)
	})

	t.Run("WithoutPurchaseStoredAsWritten", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		res, err := outbox.EnqueueRefund(ctx, tx, outbox.Refund{TransactionID: "T-orphan", RefundID: "re_1"})
		require.NoError(t, err)
		got := readRefund(t, tx, res.ID)
		require.Equal(t, refundRow{TransactionID: "T-orphan", RefundID: "re_1", Params: map[string]any{"refund_id": "re_1"}}, got)
	})
}

// A plain INSERT (the SQL contract) gets the same defaults from the trigger,
// and its ON CONFLICT DO NOTHING keeps one row per refund id.
func TestRefundPlainInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := pgtest.Tx(t)
	_, err := tx.Exec(ctx, rawInsert)
	require.NoError(t, err)
	const insert = `INSERT INTO ga4_outbox.events (event_name, transaction_id, refund_id, value, currency, params, source)
VALUES ('refund', 'A-1001', $1, 24.95, 'EUR', '{"items": [{"item_id": "SKU-1", "price": 24.95, "quantity": 1}]}', 'php_webhook')
ON CONFLICT DO NOTHING`
	for _, id := range []string{"re_1", "re_2", "re_1"} {
		_, err := tx.Exec(ctx, insert, id)
		require.NoError(t, err)
	}
	var rows []refundRow
	for _, id := range []string{"re_1", "re_2"} {
		var rowID int64
		require.NoError(t, tx.QueryRow(ctx, `SELECT id FROM ga4_outbox.events WHERE refund_id = $1`, id).Scan(&rowID))
		rows = append(rows, readRefund(t, tx, rowID))
	}
	require.Equal(t, 2, countRows(t, tx, "A-1001"))
	for _, r := range rows {
		require.Equal(t, []string{"1197596843.1673515099", "granted", "granted", "denied"},
			[]string{r.ClientID, r.AnalyticsStorage, r.AdUserData, r.AdPersonalization})
	}
	_, err = tx.Exec(ctx, `INSERT INTO ga4_outbox.events (event_name, transaction_id, refund_id) VALUES ('purchase', 'A-2', 're_1')`)
	require.ErrorContains(t, err, "events_refund_id_check", "a purchase carries no refund id")
}

func TestEnqueueRefundRefusesProgrammerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(r *outbox.Refund)
		field string
	}{
		{"MissingTransactionID", func(r *outbox.Refund) { r.TransactionID = "" }, "TransactionID"},
		{"NegativeValue", func(r *outbox.Refund) { r.Value = "-24.95" }, "Value"},
		{"ValueNotDecimal", func(r *outbox.Refund) { r.Value = "24,95" }, "Value"},
		{"ValueWithoutCurrency", func(r *outbox.Refund) { r.Currency = "" }, "Currency"},
		{"BadCurrency", func(r *outbox.Refund) { r.Currency = "EURO" }, "Currency"},
		{"ItemWithoutIDOrName", func(r *outbox.Refund) { r.Items[0].ItemID = "" }, "Items[0]"},
		{"ItemNegativeQuantity", func(r *outbox.Refund) { r.Items[0].Quantity = -1 }, "Items[0].Quantity"},
		{"ItemPriceNotDecimal", func(r *outbox.Refund) { r.Items[0].Price = "free" }, "Items[0].Price"},
		{"RefundIDTooLong", func(r *outbox.Refund) { r.RefundID = strings.Repeat("r", 101) }, "RefundID"},
		{"RefundIDPadded", func(r *outbox.Refund) { r.RefundID = " re_1" }, "RefundID"},
		{"ReservedParamRefundID", func(r *outbox.Refund) { r.Params = map[string]any{"refund_id": "x"} }, "Params"},
		{"ReservedParamItems", func(r *outbox.Refund) { r.Params = map[string]any{"items": []any{}} }, "Params"},
		{"BadConsent", func(r *outbox.Refund) { r.AdUserData = "GRANTED" }, "AdUserData"},
		{"BadMeasurementID", func(r *outbox.Refund) { r.MeasurementID = "UA-1" }, "MeasurementID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tx := pgtest.Tx(t)
			r := partialRefund("T-bad-"+tt.name, "re_1", "24.95")
			tt.edit(&r)
			_, err := outbox.EnqueueRefund(context.Background(), tx, r)
			var fe *outbox.FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
			require.Contains(t, err.Error(), tt.field)
			var n int
			require.NoError(t, tx.QueryRow(context.Background(), `SELECT count(*) FROM ga4_outbox.events`).Scan(&n))
			require.Zero(t, n)
		})
	}
}
