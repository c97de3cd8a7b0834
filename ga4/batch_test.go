package ga4_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

func buildMany(t *testing.T, n int, mutate func(i int, c *ga4.EventInput)) ([]ga4.Request, []string) {
	t.Helper()
	var reqs []ga4.Request
	var keys []string
	for i := range n {
		c := purchase()
		c.Key = fmt.Sprint(i)
		c.TransactionID = fmt.Sprintf("ORD-%d", i)
		if mutate != nil {
			mutate(i, &c)
		}
		r, msgs := ga4.BuildEvent(c, now)
		require.Empty(t, msgs)
		reqs, keys = append(reqs, r), append(keys, c.Key)
	}
	return reqs, keys
}

func TestBatches(t *testing.T) {
	t.Parallel()

	t.Run("GroupsByClientAndSplitsAt25", func(t *testing.T) {
		t.Parallel()
		reqs, keys := buildMany(t, 60, func(i int, c *ga4.EventInput) {
			if i%2 == 1 {
				c.ClientID = "111.222"
			}
		})
		batches := ga4.Batches(reqs, keys)
		var sizes []int
		for _, b := range batches {
			sizes = append(sizes, len(b.Request.Events))
			require.Len(t, b.Keys, len(b.Request.Events))
			require.Empty(t, ga4.Validate(&b.Request, now))
		}
		require.Equal(t, []int{25, 5, 25, 5}, sizes)
		require.Equal(t, "1197596843.1673515099", batches[0].Request.ClientID)
		require.Equal(t, []string{"0", "2", "4"}, batches[0].Keys[:3])
		require.Equal(t, "111.222", batches[2].Request.ClientID)
		require.Equal(t, "ORD-1", batches[2].Request.Events[0].Params["transaction_id"])
	})

	t.Run("ConsentAndUserSeparateGroups", func(t *testing.T) {
		t.Parallel()
		reqs, keys := buildMany(t, 3, func(i int, c *ga4.EventInput) {
			switch i {
			case 1:
				c.AdPersonalization = "granted"
			case 2:
				c.UserID = "other"
			}
		})
		require.Len(t, ga4.Batches(reqs, keys), 3)
	})

	t.Run("SplitsBeforeBodyLimit", func(t *testing.T) {
		t.Parallel()
		long := strings.Repeat("x", 100)
		reqs, keys := buildMany(t, 25, func(_ int, c *ga4.EventInput) {
			items := make([]map[string]any, 60)
			for j := range items {
				items[j] = map[string]any{"item_id": long, "item_name": long}
			}
			c.Params, _ = json.Marshal(map[string]any{"items": items})
		})
		batches := ga4.Batches(reqs, keys)
		require.Greater(t, len(batches), 1)
		total := 0
		for _, b := range batches {
			body, err := json.Marshal(b.Request)
			require.NoError(t, err)
			require.Less(t, len(body), ga4.MaxBodyBytes)
			total += len(b.Keys)
		}
		require.Equal(t, 25, total)
	})

	t.Run("RequestTimestampMovesToEvents", func(t *testing.T) {
		t.Parallel()
		ts := now.Add(-time.Minute).UnixMicro()
		r := ga4.Request{ClientID: "1.2", TimestampMicros: ts, Events: []ga4.Event{{Name: "a"}, {Name: "b"}}}
		b := ga4.Batches([]ga4.Request{r}, []string{"k"})
		require.Len(t, b, 1)
		require.Zero(t, b[0].Request.TimestampMicros)
		require.Equal(t, ts, b[0].Request.Events[1].TimestampMicros)
		require.Equal(t, []string{"k", "k"}, b[0].Keys)
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		require.Empty(t, ga4.Batches[string](nil, nil))
	})
}
