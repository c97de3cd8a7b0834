package ga4test_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

const rightQuery = "measurement_id=G-EMU1&api_secret=right"

// newDirect returns an emulator served straight through ServeHTTP.
func newDirect(t *testing.T, maxRecorded int) *ga4test.Server {
	t.Helper()
	s, err := ga4test.NewServer(&ga4test.Options{Secrets: map[string][]string{"G-EMU1": {"right"}},
		Now: func() time.Time { return now }, MaxRecorded: maxRecorded})
	require.NoError(t, err)
	return s
}

// serve posts b to path?query and returns the status.
func serve(s *ga4test.Server, path, query string, b []byte) int {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path+"?"+query, bytes.NewReader(b)))
	return rec.Code
}

// burstRequest i is a unique purchase, a repeated transaction_id, a request
// with validation problems or a wrong api_secret, by i%4.
func burstRequest(i int) (string, []byte) {
	switch i % 4 {
	case 1:
		return rightQuery, body("DUP")
	case 2:
		return rightQuery, []byte(`{"client_id":"1.2","events":[{"name":"_bad"}]}`)
	case 3:
		return "measurement_id=G-EMU1&api_secret=wrong", body(fmt.Sprintf("T-%d", i))
	}
	return rightQuery, body(fmt.Sprintf("T-%d", i))
}

// burst posts n requests concurrently; every eighth poster reads the stats
// right after, racing the others' analysis.
func burst(s *ga4test.Server, n int) []int {
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			q, b := burstRequest(i)
			codes[i] = serve(s, ga4.CollectPath, q, b)
			if i%8 == 7 {
				_ = s.Stats()
			}
		})
	}
	wg.Wait()
	return codes
}

// eagerStats posts the burst's requests one by one and reads the stats
// after each, which analyses every body on arrival.
func eagerStats(t *testing.T, n int) ga4test.Stats {
	s := newDirect(t, 0)
	for i := range n {
		q, b := burstRequest(i)
		require.Equal(t, http.StatusNoContent, serve(s, ga4.CollectPath, q, b))
		require.Equal(t, i+1, s.Stats().Requests)
	}
	return s.Stats()
}

func TestStatsAfterConcurrentBurstEqualEager(t *testing.T) {
	t.Parallel()
	const n = 64
	want := ga4test.Stats{Requests: n, Accepted: 48, Dropped: 16, Duplicates: 15, WithProblems: 16}
	require.Equal(t, want, eagerStats(t, n))
	for _, maxRecorded := range []int{0, 10} {
		t.Run(fmt.Sprintf("MaxRecorded=%d", maxRecorded), func(t *testing.T) {
			t.Parallel()
			s := newDirect(t, maxRecorded)
			for i, code := range burst(s, n) {
				require.Equal(t, http.StatusNoContent, code, "request %d", i)
			}
			require.Equal(t, n, s.CountedStats().Requests, "requests count on arrival")
			require.Equal(t, want, s.Stats())
			require.Zero(t, s.PendingBodies())
			checkArrivalOrder(t, s)
		})
	}
}

// checkArrivalOrder checks that events are numbered in the order of their
// requests and that each request log counts its events.
func checkArrivalOrder(t *testing.T, s *ga4test.Server) {
	t.Helper()
	perRequest := map[int64]int{}
	events := s.Events()
	for i, e := range events {
		perRequest[e.RequestID]++
		if i > 0 {
			require.Equal(t, events[i-1].Seq+1, e.Seq)
			require.LessOrEqual(t, events[i-1].RequestID, e.RequestID, "seq %d", e.Seq)
		}
	}
	reqs := s.Requests()
	for i, r := range reqs {
		if i > 0 {
			require.Equal(t, reqs[i-1].ID+1, r.ID)
		}
		if r.ID > events[0].RequestID { // the first may have events before the window
			require.Equal(t, perRequest[r.ID], r.Events, "request %d", r.ID)
		}
	}
}

func TestNothingIsAnalysedBeforeARead(t *testing.T) {
	t.Parallel()
	s := ga4test.Start(t, &ga4test.Options{Faults: ga4test.Faults{NextDrop: 2}, Now: func() time.Time { return now }})
	for i, tid := range []string{"A", "B", "C"} {
		_, err := post(t, s.URL, ga4.CollectPath, body(tid))
		require.Equal(t, i < 2, err != nil, "the first two connections are dropped")
	}
	require.Equal(t, 3, s.PendingBodies())
	require.Equal(t, ga4test.Stats{Requests: 3, FaultsDrop: 2}, s.CountedStats(), "exact before any analysis")
	require.Equal(t, ga4test.Stats{Requests: 3, FaultsDrop: 2, Accepted: 3}, s.Stats())
	require.Zero(t, s.PendingBodies())
	var got []string
	for _, r := range s.Requests() {
		got = append(got, fmt.Sprintf("%d %d %s %d", r.ID, r.Status, r.Fault, r.Events))
	}
	require.Equal(t, []string{"1 0 drop 1", "2 0 drop 1", "3 204  1"}, got)
}

func TestMaxRecordedBoundsPendingBodies(t *testing.T) {
	t.Parallel()
	s := newDirect(t, 10)
	for i := range 100 {
		require.Equal(t, http.StatusNoContent, serve(s, ga4.CollectPath, rightQuery, body(fmt.Sprintf("T-%d", i))))
		require.LessOrEqual(t, s.PendingBodies(), 10, "after request %d", i)
	}
	require.Equal(t, 90, s.CountedStats().Accepted, "the request path analysed all but the last 10")
	ev := s.Events()
	require.Len(t, ev, 10)
	for i, e := range ev {
		require.Equal(t, fmt.Sprintf("T-%d", 90+i), e.TransactionID)
		require.Equal(t, []int64{int64(91 + i), int64(91 + i)}, []int64{e.Seq, e.RequestID})
	}
	reqs := s.Requests()
	require.Len(t, reqs, 10)
	require.Equal(t, []int64{91, 1}, []int64{reqs[0].ID, int64(reqs[0].Events)})
	require.Equal(t, ga4test.Stats{Requests: 100, Accepted: 100}, s.Stats())
}

func twoEvents(tid1, tid2 string) []byte {
	return []byte(fmt.Sprintf(`{"client_id":"1.2","events":[
		{"name":"purchase","params":{"transaction_id":%q}},{"name":"purchase","params":{"transaction_id":%q}}]}`, tid1, tid2))
}

func TestArrivalOrderAcrossDeferredAnalysis(t *testing.T) {
	t.Parallel()
	s := newDirect(t, 0)
	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, twoEvents("A1", "A2")))
	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("B")))
	require.Equal(t, 200, serve(s, ga4.DebugCollectPath, rightQuery, body("B")))
	require.NoError(t, s.SetFaults(ga4test.Faults{Next5xx: 1}))
	require.Equal(t, 500, serve(s, ga4.CollectPath, rightQuery, body("X")))
	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, []byte("garbage")))
	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("C")))
	require.Equal(t, ga4test.Stats{Requests: 6, DebugRequests: 1, Faults5xx: 1}, s.CountedStats())
	require.Equal(t, 4, s.PendingBodies())

	var reqs []string
	for _, r := range s.Requests() {
		reqs = append(reqs, fmt.Sprintf("%d %s %d %d", r.ID, r.Path, r.Status, r.Events))
	}
	require.Equal(t, []string{"1 /mp/collect 204 2", "2 /mp/collect 204 1", "3 /debug/mp/collect 200 0",
		"4 /mp/collect 500 0", "5 /mp/collect 204 0", "6 /mp/collect 204 1"}, reqs)
	require.Equal(t, []string{"1 1 A1", "2 1 A2", "3 2 B", "4 6 C"}, seqs(s.Events()))

	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("A1")))
	ev := s.EventsSince(4)
	require.Equal(t, []string{"5 7 A1"}, seqs(ev))
	require.True(t, ev[0].Duplicate)

	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("D")))
	s.Reset()
	require.Zero(t, s.PendingBodies(), "Reset discards the pending bodies")
	require.Equal(t, ga4test.Stats{}, s.Stats())
	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("E")))
	require.Equal(t, []string{"1 1 E"}, seqs(s.Events()))
}

// seqs renders events as "Seq RequestID TransactionID".
func seqs(events []ga4test.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, fmt.Sprintf("%d %d %s", e.Seq, e.RequestID, e.TransactionID))
	}
	return out
}

// gateA makes the request path's analysis of body("A") wait until release
// is closed; started says it is waiting.
func gateA(s *ga4test.Server) (started, release chan struct{}) {
	started, release = make(chan struct{}), make(chan struct{})
	s.GateAnalysis(func(b []byte) {
		if bytes.Contains(b, []byte(`"transaction_id":"A"`)) {
			close(started)
			<-release
		}
	})
	return started, release
}

// serveAsync posts body(tid) in a goroutine; the channel gives the status.
func serveAsync(s *ga4test.Server, tid string) <-chan int {
	done := make(chan int, 1)
	go func() { done <- serve(s, ga4.CollectPath, rightQuery, body(tid)) }()
	return done
}

// claimA posts A and B to an emulator with MaxRecorded 2, then C, whose
// request claims A's analysis and waits in it until release is closed.
func claimA(t *testing.T) (s *ga4test.Server, release chan struct{}, doneC <-chan int) {
	s = newDirect(t, 2)
	started, release := gateA(s)
	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("A")))
	require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("B")))
	doneC = serveAsync(s, "C")
	<-started
	return s, release, doneC
}

func TestClaimedAnalysesRecordInArrivalOrder(t *testing.T) {
	t.Parallel()
	t.Run("a later claim waits for an earlier one", func(t *testing.T) {
		t.Parallel()
		s, release, doneC := claimA(t)
		require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("D"))) // claims and analyses B
		require.Zero(t, s.CountedStats().Accepted, "B is not recorded before A")
		require.Equal(t, 4, s.PendingBodies())
		close(release)
		require.Equal(t, 204, <-doneC)
		require.Equal(t, []string{"1 1 A", "2 2 B"}, seqs(s.RecordedEvents()))
		require.Equal(t, 2, s.PendingBodies())
		require.Equal(t, []string{"3 3 C", "4 4 D"}, seqs(s.Events()))
	})
	t.Run("a reader analyses a claimed body itself", func(t *testing.T) {
		t.Parallel()
		s, release, doneC := claimA(t)
		require.Equal(t, ga4test.Stats{Requests: 3, Accepted: 3}, s.Stats())
		close(release)
		require.Equal(t, 204, <-doneC)
		require.Equal(t, ga4test.Stats{Requests: 3, Accepted: 3}, s.Stats(), "A is recorded once")
		require.Equal(t, []string{"1 1 A", "2 2 B", "3 3 C"}, seqs(s.RecordedEvents()))
	})
	t.Run("a claim that ends after Reset records nothing", func(t *testing.T) {
		t.Parallel()
		s, release, doneC := claimA(t)
		s.Reset()
		close(release)
		require.Equal(t, 204, <-doneC)
		require.Equal(t, ga4test.Stats{}, s.Stats())
		require.Equal(t, 204, serve(s, ga4.CollectPath, rightQuery, body("E")))
		require.Equal(t, []string{"1 1 E"}, seqs(s.Events()))
	})
}

// TestWaitReceived counts arrivals without analysing them: the bodies are
// still pending when it returns, and a context that ends first says how
// many arrived.
func TestWaitReceived(t *testing.T) {
	t.Parallel()
	s := ga4test.Start(t, nil)
	c := &http.Client{}
	for i := range 3 {
		resp, err := c.Post(s.URL+"/mp/collect?measurement_id=G-TEST1234&api_secret=x", "application/json",
			strings.NewReader(`{"client_id":"1.2","events":[{"name":"purchase","params":{"transaction_id":"W-`+strconv.Itoa(i)+`"}}]}`))
		require.NoError(t, err)
		resp.Body.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.WaitReceived(ctx, 3))
	require.Equal(t, 3, s.Received())
	require.Equal(t, 3, s.PendingBodies(), "nothing analysed yet")
	require.Equal(t, 3, s.Stats().Accepted)

	short, cancelShort := context.WithCancel(context.Background())
	cancelShort()
	require.ErrorContains(t, s.WaitReceived(short, 4), "3 of 4 requests received")
}
