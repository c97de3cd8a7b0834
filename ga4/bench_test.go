package ga4_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

func BenchmarkValidate(b *testing.B) {
	r := validRequest()
	b.ReportAllocs()
	for b.Loop() {
		if msgs := ga4.Validate(r, now); len(msgs) != 0 {
			b.Fatal(msgs)
		}
	}
}

// BenchmarkBuildAndEncode builds (which validates) and encodes a purchase
// with 3 items: what the poller does per row.
func BenchmarkBuildAndEncode(b *testing.B) {
	c := purchase()
	c.Params = json.RawMessage(`{"tax": 1.11, "shipping": 3.33, "items": [
		{"item_id": "SKU_1", "item_name": "Tee", "price": 10.01, "quantity": 1},
		{"item_id": "SKU_2", "item_name": "Cap", "price": 10.01, "quantity": 1},
		{"item_id": "SKU_3", "item_name": "Mug", "price": 10.01, "quantity": 1}]}`)
	b.ReportAllocs()
	for b.Loop() {
		r, msgs := ga4.BuildEvent(c, now)
		if len(msgs) != 0 {
			b.Fatal(msgs)
		}
		if _, err := ga4.Encode(&r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateAndEncode is the part of the target the builder does
// not share with decoding the row's jsonb: Validate plus Encode of the same
// purchase with 3 items.
func BenchmarkValidateAndEncode(b *testing.B) {
	c := purchase()
	c.Params = json.RawMessage(`{"tax": 1.11, "shipping": 3.33, "items": [
		{"item_id": "SKU_1", "item_name": "Tee", "price": 10.01, "quantity": 1},
		{"item_id": "SKU_2", "item_name": "Cap", "price": 10.01, "quantity": 1},
		{"item_id": "SKU_3", "item_name": "Mug", "price": 10.01, "quantity": 1}]}`)
	r, _ := ga4.BuildEvent(c, now)
	b.ReportAllocs()
	for b.Loop() {
		if msgs := ga4.Validate(&r, now); len(msgs) != 0 {
			b.Fatal(msgs)
		}
		if _, err := ga4.Encode(&r); err != nil {
			b.Fatal(err)
		}
	}
}

// sendParallelism is goroutines per GOMAXPROCS in the send benchmarks.
const sendParallelism = 16

func benchEmulator(b *testing.B) *ga4test.Server {
	b.Helper()
	return ga4test.Start(b, &ga4test.Options{Now: func() time.Time { return now }})
}

// BenchmarkClientSend posts one purchase per op through ga4.Client
// (encoding included) to the in-process emulator, over plain HTTP/1.1 and
// over HTTP/2 with TLS. Compare HTTP1's ns/op with BenchmarkBareHTTP from
// the same run; the emulator's share is the same in both.
func BenchmarkClientSend(b *testing.B) {
	for _, pr := range protocols {
		b.Run(pr.name, func(b *testing.B) {
			emu, err := ga4test.NewServer(&ga4test.Options{Now: func() time.Time { return now }})
			if err != nil {
				b.Fatal(err)
			}
			url, cfg := serve(b, emu, pr)
			c, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: url, TLSConfig: cfg})
			if err != nil {
				b.Fatal(err)
			}
			r := validRequest()
			b.ReportAllocs()
			b.SetParallelism(sendParallelism)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.Send(context.Background(), testMID, testSecret, r); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkBareHTTP is the baseline: a plain net/http loop posting the
// already-encoded body with a transport that keeps as many idle
// connections.
func BenchmarkBareHTTP(b *testing.B) {
	emu := benchEmulator(b)
	body, err := json.Marshal(validRequest())
	if err != nil {
		b.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: tr}
	url := emu.URL + ga4.CollectPath + "?measurement_id=" + testMID + "&api_secret=" + testSecret
	b.ReportAllocs()
	b.SetParallelism(sendParallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkSendSideBySide alternates a ga4.Client send and a bare net/http
// post in every goroutine, so machine load hits both equally, and reports
// each one's mean latency and client-rps/bare-rps (at equal concurrency,
// the inverse ratio of the latencies).
func BenchmarkSendSideBySide(b *testing.B) {
	emu := benchEmulator(b)
	c, err := ga4.NewClient(&ga4.ClientConfig{Endpoint: emu.URL})
	if err != nil {
		b.Fatal(err)
	}
	r := validRequest()
	body, err := ga4.Encode(r)
	if err != nil {
		b.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	bare := &http.Client{Transport: tr}
	url := emu.URL + ga4.CollectPath + "?measurement_id=" + testMID + "&api_secret=" + testSecret
	var clientNs, bareNs atomic.Int64
	b.SetParallelism(sendParallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			if err := c.Send(context.Background(), testMID, testSecret, r); err != nil {
				b.Error(err)
				return
			}
			t1 := time.Now()
			resp, err := bare.Post(url, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			clientNs.Add(int64(t1.Sub(t0)))
			bareNs.Add(int64(time.Since(t1)))
		}
	})
	n := float64(b.N)
	b.ReportMetric(float64(clientNs.Load())/n, "client-ns/req")
	b.ReportMetric(float64(bareNs.Load())/n, "bare-ns/req")
	b.ReportMetric(float64(bareNs.Load())/float64(clientNs.Load()), "client/bare-rps")
}
