package poller_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/poller"
)

// TestVacuumMetrics: the scrape reports the dead share of the outbox
// table and the age of the oldest open snapshot of the database (here one
// held by a REPEATABLE READ transaction of another session).
func TestVacuumMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	reg := prometheus.NewPedanticRegistry()
	b.cfg.Registerer = reg
	b.poller(t)
	got := gathered(t, reg)
	require.Zero(t, got["ga4_outbox_oldest_snapshot_age_seconds"], "no other transaction is open")
	require.Zero(t, got["ga4_outbox_replication_slot_xmin_age"])
	require.Contains(t, got, "ga4_outbox_dead_tuples_ratio")

	tx, err := b.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	var n int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM ga4_outbox.events`).Scan(&n))
	got = gathered(t, reg)
	require.Greater(t, got["ga4_outbox_oldest_snapshot_age_seconds"], 0.0, "the held snapshot")
	require.Zero(t, got["ga4_outbox_rows_scrape_error"])
	dead := got["ga4_outbox_dead_tuples_ratio"]
	require.True(t, dead >= 0 && dead <= 1, "dead share %v", dead)
}

// TestClaimPlanWithoutFreshStatistics: with statistics taken before the
// backlog was written (the table was analyzed holding nine delivered rows)
// each part of the claim still reads its index in order and stops at the
// batch, from the head and from a cursor: no part collects and sorts every
// pending row. 20,000 rows are pending, 5,000 of them retried and due.
func TestClaimPlanWithoutFreshStatistics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	b.fill(t, 9)
	_, err := b.pool.Exec(ctx, `UPDATE ga4_outbox.events SET status = 'delivered', delivered_at = now()`)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `ANALYZE ga4_outbox.events`)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `DELETE FROM ga4_outbox.events`)
	require.NoError(t, err)
	b.fill(t, 20_000)
	_, err = b.pool.Exec(ctx, `UPDATE ga4_outbox.events SET retry_at = now() - interval '1 minute', attempts = 1
		WHERE id % 4 = 0`)
	require.NoError(t, err)

	cursorAt := time.Now().Add(24 * time.Hour).Add(-time.Hour)
	for name, args := range map[string][]any{
		"head":   claimArgs(500),
		"cursor": append(claimArgs(500)[:5], cursorAt, int64(1), int64(1), time.Now().Add(-time.Hour), int64(1), []int64{5, 6, 7}),
	} {
		t.Run(name, func(t *testing.T) {
			tx, err := b.pool.Begin(ctx)
			require.NoError(t, err)
			defer tx.Rollback(ctx)
			var raw []byte
			require.NoError(t, tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) `+poller.SQLClaim, args...).Scan(&raw))
			var plan []struct {
				Plan planNode `json:"Plan"`
			}
			require.NoError(t, json.Unmarshal(raw, &plan))
			ctes := map[string]string{"dated": "events_fresh_idx", "undated": "events_fresh_idx", "retried": "events_retry_idx"}
			if name == "cursor" {
				ctes["behind"] = "events_pkey"
			}
			for cte, index := range ctes {
				n := plan[0].Plan.find(func(n *planNode) bool { return n.SubplanName == "CTE "+cte })
				require.NotNil(t, n, "CTE %s in\n%s", cte, raw)
				scan := n.find(func(n *planNode) bool { return n.RelationName == "events" })
				require.NotNil(t, scan)
				require.Equal(t, "Index Scan", scan.NodeType, "%s reads its index in order:\n%s", cte, raw)
				require.Equal(t, index, scan.IndexName, "%s:\n%s", cte, raw)
				require.Nil(t, n.find(func(n *planNode) bool { return n.NodeType == "Sort" }), "%s sorts:\n%s", cte, raw)
			}
		})
	}
}

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType     string     `json:"Node Type"`
	SubplanName  string     `json:"Subplan Name"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

func (n *planNode) find(match func(*planNode) bool) *planNode {
	if match(n) {
		return n
	}
	for i := range n.Plans {
		if m := n.Plans[i].find(match); m != nil {
			return m
		}
	}
	return nil
}
