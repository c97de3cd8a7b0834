package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/outbox"
)

func purchase(txID string) outbox.Conversion {
	return outbox.Conversion{
		EventName: "purchase", TransactionID: txID, Value: "49.90", Currency: "eur",
		Items:             []outbox.Item{{ItemID: "SKU-1", Price: "24.95", Quantity: 2, Params: map[string]any{"item_brand": "Acme"}}},
		Params:            map[string]any{"tax": json.Number("7.97"), "coupon": "SUMMER"},
		UserProperties:    map[string]any{"plan": "pro"},
		ClientID:          "1197596843.1673515099",
		SessionID:         "1747132561",
		UserID:            "u-42",
		AnalyticsStorage:  outbox.ConsentGranted,
		AdUserData:        outbox.ConsentGranted,
		AdPersonalization: outbox.ConsentDenied,
		SessionEventAt:    time.Date(2025, 5, 13, 10, 40, 0, 0, time.UTC),
		OccurredAt:        time.Date(2025, 5, 13, 10, 41, 0, 0, time.UTC),
		Source:            "payment_webhook",
		MeasurementID:     "G-OTHER123",
	}
}

func TestEnqueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("StoresEveryColumn", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		res, err := outbox.Enqueue(ctx, tx, purchase("T-store"))
		require.NoError(t, err)
		require.False(t, res.Duplicate)
		require.Positive(t, res.ID)

		var (
			name, txID, value, currency, clientID, sessionID, userID, source, mid, status string
			analytics, adUser, adPers                                                     string
			params, userProps                                                             []byte
			sessionAt, occurred                                                           time.Time
			attempts                                                                      int
			deadline                                                                      time.Time
		)
		err = tx.QueryRow(ctx, `SELECT event_name, transaction_id, value::text, currency, params, user_properties,
			client_id, session_id, user_id, consent_analytics_storage, consent_ad_user_data, consent_ad_personalization,
			session_event_at, occurred_at, source, measurement_id, status, attempts, deadline_at
			FROM ga4_outbox.events WHERE id = $1`, res.ID).Scan(&name, &txID, &value, &currency, &params, &userProps,
			&clientID, &sessionID, &userID, &analytics, &adUser, &adPers, &sessionAt, &occurred, &source, &mid, &status, &attempts, &deadline)
		require.NoError(t, err)
		require.Equal(t, []string{"purchase", "T-store", "49.90", "EUR", "1197596843.1673515099", "1747132561", "u-42", "payment_webhook", "G-OTHER123", outbox.StatusPending},
			[]string{name, txID, value, currency, clientID, sessionID, userID, source, mid, status})
		require.Equal(t, []string{"granted", "granted", "denied"}, []string{analytics, adUser, adPers})
		require.JSONEq(t, `{"tax":7.97,"coupon":"SUMMER","items":[{"item_id":"SKU-1","price":24.95,"quantity":2,"item_brand":"Acme"}]}`, string(params))
		require.JSONEq(t, `{"plan":"pro"}`, string(userProps))
		require.True(t, sessionAt.Equal(time.Date(2025, 5, 13, 10, 40, 0, 0, time.UTC)))
		require.True(t, occurred.Equal(time.Date(2025, 5, 13, 10, 41, 0, 0, time.UTC)))
		require.True(t, deadline.Equal(time.Unix(1747132561+86400, 0)))
		require.Zero(t, attempts)
	})

	t.Run("DuplicateReturnsExistingRowAndKeepsTxUsable", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		first, err := outbox.Enqueue(ctx, tx, purchase("T-dup"))
		require.NoError(t, err)
		again, err := outbox.Enqueue(ctx, tx, purchase("T-dup"))
		require.NoError(t, err)
		require.Equal(t, outbox.EnqueueResult{ID: first.ID, Duplicate: true}, again)
		var n int
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM ga4_outbox.events WHERE transaction_id = 'T-dup'`).Scan(&n))
		require.Equal(t, 1, n)
	})

	t.Run("SameTransactionIDOtherEventIsNotDuplicate", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		_, err := outbox.Enqueue(ctx, tx, purchase("T-two"))
		require.NoError(t, err)
		c := purchase("T-two")
		c.EventName = "refund"
		res, err := outbox.Enqueue(ctx, tx, c)
		require.NoError(t, err)
		require.False(t, res.Duplicate)
	})

	t.Run("MissingIdentifiersAreStored", func(t *testing.T) {
		t.Parallel()
		tx := pgtest.Tx(t)
		res, err := outbox.Enqueue(ctx, tx, outbox.Conversion{EventName: "sign_up"})
		require.NoError(t, err)
		var clientID, sessionID, txID *string
		var occurred time.Time
		require.NoError(t, tx.QueryRow(ctx, `SELECT client_id, session_id, transaction_id, occurred_at FROM ga4_outbox.events WHERE id = $1`, res.ID).
			Scan(&clientID, &sessionID, &txID, &occurred))
		require.Nil(t, clientID)
		require.Nil(t, sessionID)
		require.Nil(t, txID)
		require.WithinDuration(t, time.Now(), occurred, time.Minute)
	})
}

func TestEnqueueCommitsWithTheCallersTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)

	rolledBack := errors.New("order rejected")
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := outbox.Enqueue(ctx, tx, purchase("T-rollback"))
		require.NoError(t, err)
		return rolledBack
	})
	require.ErrorIs(t, err, rolledBack)
	require.NoError(t, pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := outbox.Enqueue(ctx, tx, purchase("T-commit"))
		return err
	}))
	var ids []string
	rows, err := pool.Query(ctx, `SELECT transaction_id FROM ga4_outbox.events ORDER BY id`)
	require.NoError(t, err)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"T-commit"}, ids)
}

// A duplicate committed by another transaction while this one waited on the
// unique index is found, not an error.
func TestEnqueueConcurrentDuplicate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)

	tx1, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer tx1.Rollback(ctx)
	first, err := outbox.Enqueue(ctx, tx1, purchase("T-race"))
	require.NoError(t, err)

	type result struct {
		res outbox.EnqueueResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := outbox.Enqueue(ctx, pool, purchase("T-race"))
		done <- result{res, err}
	}()
	// Wait until the second insert waits on the first one's lock.
	require.Eventually(t, func() bool {
		var waiting bool
		_ = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting)
		return waiting
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, tx1.Commit(ctx))
	got := <-done
	require.NoError(t, got.err)
	require.Equal(t, outbox.EnqueueResult{ID: first.ID, Duplicate: true}, got.res)
}

func TestEnqueueRefusesProgrammerErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(c *outbox.Conversion)
		field string
	}{
		{"NoEventName", func(c *outbox.Conversion) { c.EventName = "" }, "EventName"},
		{"BadEventName", func(c *outbox.Conversion) { c.EventName = "_purchase" }, "EventName"},
		{"PurchaseWithoutTransactionID", func(c *outbox.Conversion) { c.TransactionID = "" }, "TransactionID"},
		{"NegativeQuantity", func(c *outbox.Conversion) { c.Items = append(c.Items, outbox.Item{ItemID: "x", Quantity: -1}) }, "Items[1].Quantity"},
		{"CurrencyNotThreeLetters", func(c *outbox.Conversion) { c.Currency = "EURO" }, "Currency"},
		{"ValueWithoutCurrency", func(c *outbox.Conversion) { c.Currency = "" }, "Currency"},
		{"ValueNotDecimal", func(c *outbox.Conversion) { c.Value = "49,90" }, "Value"},
		{"ItemPriceNotDecimal", func(c *outbox.Conversion) { c.Items[0].Price = "cheap" }, "Items[0].Price"},
		{"ItemWithoutIDOrName", func(c *outbox.Conversion) { c.Items[0].ItemID = "" }, "Items[0]"},
		{"BadConsent", func(c *outbox.Conversion) { c.AnalyticsStorage = "yes" }, "AnalyticsStorage"},
		{"WireConsentValue", func(c *outbox.Conversion) { c.AdUserData = "GRANTED" }, "AdUserData"},
		{"ReservedParam", func(c *outbox.Conversion) { c.Params["session_id"] = "1" }, "Params"},
		{"BadMeasurementID", func(c *outbox.Conversion) { c.MeasurementID = "12345" }, "MeasurementID"},
		{"ParamsNotJSON", func(c *outbox.Conversion) { c.Params["f"] = func() {} }, "Params"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tx := pgtest.Tx(t)
			c := purchase("T-bad-" + tt.name)
			tt.edit(&c)
			_, err := outbox.Enqueue(context.Background(), tx, c)
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

// rawInsert is the INSERT documented for applications not written in Go.
const rawInsert = `
INSERT INTO ga4_outbox.events
    (event_name, transaction_id, value, currency, params,
     client_id, session_id, consent_analytics_storage, consent_ad_user_data, consent_ad_personalization,
     session_event_at, occurred_at, source)
VALUES
    ('purchase', 'A-1001', 49.90, 'EUR',
     '{"items": [{"item_id": "SKU-1", "price": 24.95, "quantity": 2}], "tax": 7.97}',
     '1197596843.1673515099',                                           -- client_id
     extract(epoch FROM now() - interval '25 minutes')::bigint::text,   -- session_id: the session start
     'granted', 'granted', 'denied',
     now() - interval '2 minutes',                                      -- session_event_at: the checkout click
     now(), 'php_webhook')
ON CONFLICT DO NOTHING`

func TestRawInsertTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := pgtest.Tx(t)
	tag, err := tx.Exec(ctx, rawInsert)
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())
	tag, err = tx.Exec(ctx, rawInsert)
	require.NoError(t, err, "a retried webhook must not abort the application's transaction")
	require.EqualValues(t, 0, tag.RowsAffected())
	var n int
	var status string
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*), min(status) FROM ga4_outbox.events WHERE transaction_id = 'A-1001'`).Scan(&n, &status))
	require.Equal(t, 1, n)
	require.Equal(t, outbox.StatusPending, status)
}

// In a REPEATABLE READ (or SERIALIZABLE) transaction, a duplicate that
// another transaction committed after the snapshot is a serialization
// failure: the caller retries its transaction, and the retry sees the row.
func TestEnqueueRepeatableReadDuplicate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.Pool(t)

	for _, iso := range []pgx.TxIsoLevel{pgx.RepeatableRead, pgx.Serializable} {
		t.Run(string(iso), func(t *testing.T) {
			txID := "T-snapshot-" + strings.ReplaceAll(string(iso), " ", "-")
			tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
			require.NoError(t, err)
			defer tx.Rollback(ctx)
			_, err = tx.Exec(ctx, `SELECT 1 FROM ga4_outbox.events LIMIT 1`) // takes the snapshot
			require.NoError(t, err)

			first, err := outbox.Enqueue(ctx, pool, purchase(txID)) // commits after the snapshot
			require.NoError(t, err)

			_, err = outbox.Enqueue(ctx, tx, purchase(txID))
			var pgErr *pgconn.PgError
			require.ErrorAs(t, err, &pgErr)
			require.Equal(t, "40001", pgErr.Code, "serialization_failure")
			require.NoError(t, tx.Rollback(ctx))

			var again outbox.EnqueueResult
			require.NoError(t, pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: iso}, func(tx pgx.Tx) error {
				again, err = outbox.Enqueue(ctx, tx, purchase(txID))
				return err
			}))
			require.Equal(t, outbox.EnqueueResult{ID: first.ID, Duplicate: true}, again)
		})
	}
}
