package sqlrole_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/outbox"
)

// An application role with app-grants.sql enqueues refunds: two partial
// refunds of one order are two rows, a retried one a duplicate, and each
// takes the purchase's client id and consent (through the SECURITY DEFINER
// trigger: the role itself cannot read them). It also sends the plain
// INSERT of the SQL contract.
func TestAppRoleEnqueuesRefunds(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	_, err := outbox.Enqueue(ctx, b.app, outbox.Conversion{EventName: "purchase", TransactionID: "A-1", Value: "49.90",
		Currency: "EUR", ClientID: "1197596843.1673515099", AnalyticsStorage: outbox.ConsentGranted})
	require.NoError(t, err)

	refund := func(id string) outbox.EnqueueResult {
		t.Helper()
		var res outbox.EnqueueResult
		require.NoError(t, pgx.BeginFunc(ctx, b.app, func(tx pgx.Tx) error {
			var err error
			res, err = outbox.EnqueueRefund(ctx, tx, outbox.Refund{TransactionID: "A-1", RefundID: id, Value: "10.00", Currency: "EUR"})
			return err
		}))
		return res
	}
	first, second, retried := refund("re_1"), refund("re_2"), refund("re_1")
	require.False(t, first.Duplicate || second.Duplicate)
	require.Equal(t, outbox.EnqueueResult{ID: first.ID, Duplicate: true}, retried)

	full := outbox.Conversion{EventName: "refund", TransactionID: "A-1"}
	res, err := outbox.Enqueue(ctx, b.app, full)
	require.NoError(t, err)
	again, err := outbox.Enqueue(ctx, b.app, full)
	require.NoError(t, err)
	require.Equal(t, outbox.EnqueueResult{ID: res.ID, Duplicate: true}, again, "a refund Conversion finds the id-less refund")

	_, err = b.app.Exec(ctx, `INSERT INTO ga4_outbox.events (event_name, transaction_id, refund_id, value, currency)
		VALUES ('refund', 'A-1', 're_3', 5.00, 'EUR') ON CONFLICT DO NOTHING`)
	require.NoError(t, err)

	var n int
	require.NoError(t, b.admin.QueryRow(ctx, `SELECT count(*) FROM ga4_outbox.events WHERE event_name = 'refund'
		AND client_id = '1197596843.1673515099' AND consent_analytics_storage = 'granted'`).Scan(&n))
	require.Equal(t, 4, n, "re_1, re_2, re_3 and the id-less refund, all with the purchase's ids and consent")
	requireDenied(t, b.app, `SELECT client_id FROM ga4_outbox.events WHERE event_name = 'refund'`)
}
