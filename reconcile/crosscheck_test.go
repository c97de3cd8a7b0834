package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/internal/pgtest"
	"github.com/ga4-outbox/ga4-outbox/reconcile"
)

// Ids in every shape the browser, a cookie or a bug can produce.
var (
	crossClients = []string{"123.456", " 123.456\t", "0123.456", "0.456", "123.0", "00.1", "123", "1.2.3",
		"GA1.1.123.456", "GA1.2.0.456", "GA12.x.1.2", "GA1..1.2", "GA1.1.123", "GA.1.1.2", "GAx.1.1.2",
		"user@example.com", "550e8400-e29b-41d4-a716-446655440000", "", "  ",
		"12345678901234567890.1", "1234567890123456789.1", "abc.def", "-1.2", "1.2 3",
		"1..2", "1.2.", ".1.2", ".", "GA1.1.1.2.3", "GA1.1.00.1", "GA1.1. 1.2", "GA1.1.1.2 ", "\uff11.2", "1.\u0662", "1e5.2", "+1.2",
		// ids as integrations send them (docs/IDS.md)
		"GA1.1.GA1.2.202830711.1689950339", "GA1.2-3.1.2", "GA1.1.GA1.2.0.1", "GA1.1.GA1.123.456", "GA1.1.1.2.1.2",
		"GA1.1.x.GA1.2.1.2", "GA1.GA1.1.2", "amp-qRLck9w4Ncp0Um97qQ_1Wg", "amp-1234567", "amp-12345678", "amp-1234567.8",
		"35009A79-1A05-49D7-B876-2B884D0F825B", " 550e8400-e29b-41d4-a716-446655440000 ", "550e8400e29b41d4a716446655440000",
		"GA1.2.7f5e6360-aa06-4855-bb27-e64ff7885b6e", "undefined"}
	crossSessions = []string{sid1, " " + sid1 + " ", "1772359200000", "1772359200000000", "1577836799",
		"1577836800", "177235920", "abc", "", "-177235920",
		"GS1.1.1772359200.1.1.1772359300.0.0.0", "GS1.1.1772359200.1", "GS1.1.1772359200",
		"GS1.1.1772359200.x", "GS1.1.1772359200.1.1.17723593", "GS1.1.1772359200.1.1", "GS1.x.1772359200.1",
		"GS2.1.s1772359200$o1$g1$t1772359300$j0$l0$h0", "GS2.1.s1772359200", "GS2.1.o1$s1772359200",
		"GS2.x.s1772359200", "GS2.1.o1$g1", "GS2.1.s1772359200%24o1", "GS2.1.s177235920$o1",
		"GS2.1.s1772359200$t123", "GS2.1.s1772359200$$o2", "GS2.1.s1500000000", "GS2.1.s1772359200$o",
		"GS3.1.s1772359200",
		// GS2 fragments and stray spaces (docs/IDS.md)
		"s1772359200$o1$g1$t1772359300$j0$l0$h0", "s1772359200", "s1772359200%24o1", " s1772359200 $ o1 ",
		"GS2.1.s1772359200 $ o1", "GS2.1. s1772359200", "o1$s1772359200", "s177235920$o1", "s1500000000",
		"1772359200.1.1.1772359300.0.0.0", "S1772359200$o1", "s1772359200$t12", "s1772359200x"}
)

// crossRows is the fixture plus one delivered row per id shape and a grid
// of event and send times around the 30 min, 24 h and 72 h limits.
func crossRows() []fixtureRow {
	rows := fixtureRows()
	add := func(r fixtureRow) {
		r.tx = fmt.Sprintf("x%03d", len(rows))
		r.value, r.currency, r.source, r.status, r.attempts = "1", "EUR", "ids", "delivered", 1
		rows = append(rows, r)
	}
	for _, c := range crossClients {
		add(fixtureRow{client: c, session: sid1, sessionAt: s1.Add(m(1)), occurred: s1.Add(m(2)), delivered: s1.Add(m(3))})
	}
	for _, s := range crossSessions {
		add(fixtureRow{client: "1.2", session: s, sessionAt: s1.Add(m(1)), occurred: s1.Add(m(2)), delivered: s1.Add(m(3))})
	}
	h := time.Hour
	events := []time.Duration{-time.Second, 0, m(30) - time.Second, m(30), m(30) + time.Second, 24 * h, 24*h + time.Second}
	sends := []time.Duration{m(31), 24 * h, 24*h + time.Second, 72 * h}
	for _, ev := range events {
		for _, send := range sends {
			add(fixtureRow{client: "1.2", session: sid1, sessionAt: s1.Add(ev), occurred: s1.Add(m(1)), delivered: s1.Add(send)})
			add(fixtureRow{client: "1.2", session: sid1, occurred: s1.Add(ev), delivered: s1.Add(send)})
		}
	}
	for i, ids := range [][2]string{{"", ""}, {"1.2", ""}, {"", sid1}, {"garbage", "abc"}} {
		rows = append(rows, fixtureRow{tx: fmt.Sprintf("cd%d", i), value: "1", currency: "EUR", source: "ids",
			client: ids[0], session: ids[1], occurred: s1.Add(m(2)), status: "skipped", reason: "consent_denied"})
	}
	return rows
}

// A consent-denied row is never sent by design, so it is consent_denied
// whatever its ids: the browser snippet captures none when analytics
// consent is denied, and those rows must not count as missing-id defects.
func TestConsentDeniedWinsOverMissingIDs(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	_, err := tx.Exec(context.Background(), `INSERT INTO ga4_outbox.events
		(transaction_id, value, currency, client_id, session_id, status, reason, occurred_at)
		VALUES ('CD-1', 5, 'EUR', NULL, NULL, 'skipped', 'consent_denied', now()),
		       ('CD-2', 5, 'EUR', '1.2', NULL, 'skipped', 'consent_denied', now())`)
	require.NoError(t, err)
	var buckets []string
	require.NoError(t, tx.QueryRow(context.Background(),
		`SELECT array_agg(bucket_reason ORDER BY transaction_id) FROM ga4_outbox.events WHERE transaction_id LIKE 'CD-%'`).Scan(&buckets))
	require.Equal(t, []string{"consent_denied:", "consent_denied:"}, buckets)
}

// goBucket is the bucket rule written with the ga4 package's functions.
func goBucket(client, session, status, reason string, sessionAt *time.Time, occurred time.Time, delivered *time.Time) (bucket, why string) {
	_, cerr := ga4.NormalizeClientID(client)
	clientOK := cerr == nil && !(status == "skipped" && reason == "missing_client_id")
	_, serr := ga4.ParseSessionID(session)
	sidOK := serr == nil
	if status == "delivered" && sidOK {
		ev := occurred
		if sessionAt != nil {
			ev = *sessionAt
		}
		if ev.After(*delivered) {
			ev = *delivered
		}
		why = ga4.CheckAttribution(session, ev, sessionAt != nil, *delivered).Reason
	}
	switch {
	case status == "skipped" && reason == "consent_denied":
		return reconcile.BucketConsentDenied, ""
	case status == "delivered" && clientOK && sidOK && why == "":
		if ga4.SessionIDForm(session).Recovered() {
			why = "recovered_session_id"
		}
		return reconcile.BucketAttributable, why
	case clientOK && !sidOK:
		return reconcile.BucketMissingSessionID, ""
	case !clientOK:
		return reconcile.BucketMissingClientID, clientReason(client, status, reason)
	case status == "delivered":
		return reconcile.BucketLate, why
	case status == "skipped" && reason == "expired":
		return reconcile.BucketExpired, why
	case status == "skipped":
		return reconcile.BucketInvalid, why
	case status == "failed":
		return reconcile.BucketFailed, why
	}
	return reconcile.BucketPending, why
}

// clientReason is the reason of a missing_client_id row: the report counts
// UUIDs and AMP ids (ga4.IDNonGA) apart from garbage.
func clientReason(client, status, reason string) string {
	switch {
	case status == "skipped" && reason == "missing_client_id":
		return "skipped_missing_client_id"
	case client == "":
		return "no_client_id"
	case ga4.ClientIDForm(client) == ga4.IDNonGA:
		return "non_ga_client_id"
	}
	return "invalid_client_id"
}

// TestClassificationAgreesWithGA4 holds the SQL rules and the ga4
// package's rules together, row by row.
func TestClassificationAgreesWithGA4(t *testing.T) {
	t.Parallel()
	tx := pgtest.Tx(t)
	insertFixture(t, tx, crossRows())
	rows, err := tx.Query(context.Background(), `
		SELECT transaction_id, coalesce(client_id, ''), coalesce(session_id, ''), status, coalesce(reason, ''),
		       session_event_at, occurred_at, delivered_at, split_part(bucket_reason, ':', 1),
		       CASE WHEN split_part(bucket_reason, ':', 1) IN ('late', 'attributable', 'missing_client_id')
		            THEN split_part(bucket_reason, ':', 2) ELSE '' END
		FROM (`+reconcile.ClassifySQL+`) k`, since, until)
	require.NoError(t, err)
	seenBuckets, seenReasons := map[string]int{}, map[string]int{}
	var n int
	var txID, client, session, status, reason, bucket, why string
	var sessionAt, delivered *time.Time
	var occurred time.Time
	_, err = pgx.ForEachRow(rows, []any{&txID, &client, &session, &status, &reason, &sessionAt, &occurred, &delivered, &bucket, &why}, func() error {
		n++
		wantBucket, wantWhy := goBucket(client, session, status, reason, sessionAt, occurred, delivered)
		require.Equal(t, wantBucket, bucket, "bucket of %s (client %q, session %q)", txID, client, session)
		require.Equal(t, wantWhy, why, "reason of %s (client %q, session %q)", txID, client, session)
		seenBuckets[bucket]++
		seenReasons[why]++
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, len(crossRows())-2, n, "every row in the window, none outside")
	for _, b := range reconcile.Buckets {
		if b != reconcile.BucketNotEnqueued {
			require.Positive(t, seenBuckets[b], "the fixture covers bucket %s", b)
		}
	}
	for _, r := range []string{"", ga4.ReasonBeforeSession, ga4.ReasonOutsideSession, ga4.ReasonSentAfter24h,
		"recovered_session_id", "non_ga_client_id", "invalid_client_id", "no_client_id"} {
		require.Positive(t, seenReasons[r], "the fixture covers attribution reason %q", r)
	}
}
