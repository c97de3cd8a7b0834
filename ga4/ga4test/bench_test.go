package ga4test_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// purchaseBodies are n realistic purchases (consent, user id, three items)
// with distinct transaction_ids, as the sidecar sends them.
func purchaseBodies(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(fmt.Sprintf(`{"client_id":"%d.1700000000","user_id":"cust_%d",`+
			`"consent":{"ad_user_data":"GRANTED","ad_personalization":"DENIED"},"events":[{"name":"purchase",`+
			`"timestamp_micros":%d,"params":{"session_id":1747136400,"engagement_time_msec":1,`+
			`"transaction_id":"ORD-%d","currency":"EUR","value":30.03,"tax":1.11,"shipping":3.33,"items":[`+
			`{"item_id":"SKU_1","item_name":"Tee","price":10.01,"quantity":1},`+
			`{"item_id":"SKU_2","item_name":"Cap","price":10.01,"quantity":1},`+
			`{"item_id":"SKU_3","item_name":"Mug","price":10.01,"quantity":1}]}}]}`,
			1000000+i, i, now.Add(-10*time.Minute).UnixMicro(), i))
	}
	return out
}

// BenchmarkCollect posts purchases in parallel straight to ServeHTTP (no
// network): the emulator's cost per /mp/collect request. keep-all is how
// the drain benchmarks run it (MaxRecorded 0); max-1000 includes the
// analysis the memory bound forces into the request path.
func BenchmarkCollect(b *testing.B) {
	for _, bc := range []struct {
		name string
		max  int
	}{{"keep-all", 0}, {"max-1000", 1000}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := ga4test.NewServer(&ga4test.Options{MaxRecorded: bc.max,
				Secrets: map[string][]string{"G-EMU1": {"right"}}, Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			benchCollect(b, s)
		})
	}
}

func benchCollect(b *testing.B, s *ga4test.Server) {
	bodies := purchaseBodies(1024)
	if msgs, err := ga4.ValidateJSON(bodies[0], now); err != nil || len(msgs) > 0 {
		b.Fatalf("the benchmark's purchase is not valid: %v %v", msgs, err)
	}
	target := ga4.CollectPath + "?measurement_id=G-EMU1&api_secret=right"
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[next.Add(1)%uint64(len(bodies))]
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body)))
			if rec.Code != http.StatusNoContent {
				b.Errorf("collect answered %d", rec.Code)
				return
			}
		}
	})
}
