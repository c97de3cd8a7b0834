package ga4test_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

var now = time.Unix(1747137600, 0).UTC()

func body(tid string) []byte {
	return []byte(fmt.Sprintf(`{"client_id":"1.2","events":[{"name":"purchase","timestamp_micros":%d,
		"params":{"session_id":1747136400,"engagement_time_msec":1,"transaction_id":%q,"value":1.5,"currency":"EUR"}}]}`,
		now.Add(-time.Minute).UnixMicro(), tid))
}

func post(t *testing.T, url, path string, b []byte) (*http.Response, error) {
	t.Helper()
	resp, err := http.Post(url+path+"?measurement_id=G-EMU1&api_secret=right", "application/json", bytes.NewReader(b))
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

func start(t *testing.T, f ga4test.Faults) *ga4test.Server {
	return ga4test.Start(t, &ga4test.Options{Secrets: map[string][]string{"G-EMU1": {"right"}}, Faults: f, Now: func() time.Time { return now }})
}

func TestCollectRecordsAndCountsDuplicates(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{})
	for _, tid := range []string{"A", "B", "A"} {
		resp, err := post(t, s.URL, ga4.CollectPath, body(tid))
		require.NoError(t, err)
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
	}
	st := s.Stats()
	require.Equal(t, ga4test.Stats{Requests: 3, Accepted: 3, Duplicates: 1}, st)
	ev := s.Accepted()
	require.Equal(t, []bool{false, false, true}, []bool{ev[0].Duplicate, ev[1].Duplicate, ev[2].Duplicate})
	require.Equal(t, now, ev[0].ReceivedAt, "receive time comes from the injected clock")
	require.Equal(t, "G-EMU1", ev[0].MeasurementID)
	require.Equal(t, json.Number("1.5"), ev[0].Params["value"])

	var overHTTP struct{ Events []ga4test.Event }
	getJSON(t, s.URL+"/emulator/events", &overHTTP)
	require.Len(t, overHTTP.Events, 3)
	require.Equal(t, "A", overHTTP.Events[2].TransactionID)
	var stats ga4test.Stats
	getJSON(t, s.URL+"/emulator/stats", &stats)
	require.Equal(t, st, stats)
	var reqs struct{ Requests []ga4test.RequestLog }
	getJSON(t, s.URL+"/emulator/requests", &reqs)
	require.Len(t, reqs.Requests, 3)
	require.Equal(t, 204, reqs.Requests[0].Status)

	resp, err := http.Post(s.URL+"/emulator/reset", "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, ga4test.Stats{}, s.Stats())
}

func TestCollectDropsWhatGoogleDrops(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{})
	for _, q := range []string{"measurement_id=G-EMU1&api_secret=wrong", "measurement_id=G-OTHER&api_secret=right", "api_secret=right"} {
		resp, err := http.Post(s.URL+ga4.CollectPath+"?"+q, "application/json", bytes.NewReader(body("X")))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusNoContent, resp.StatusCode, "Google answers 2xx anyway")
	}
	var reasons []string
	for _, e := range s.Events() {
		require.True(t, e.Dropped)
		reasons = append(reasons, e.DropReason)
	}
	require.Equal(t, []string{"wrong api_secret", "unknown measurement_id", "missing measurement_id"}, reasons)
	require.Equal(t, 3, s.Stats().Dropped)
	require.Zero(t, s.Stats().Duplicates, "dropped events are not deduplicated")
}

func TestCollectAttachesProblems(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{})
	_, err := post(t, s.URL, ga4.CollectPath, []byte(`{"client_id":"1.2","events":[{"name":"_bad"}]}`))
	require.NoError(t, err)
	ev := s.Accepted()
	require.Len(t, ev, 1)
	require.Equal(t, "NAME_INVALID", ev[0].Problems[0].Code)
	require.Equal(t, 1, s.Stats().WithProblems)
}

func TestDebugCollect(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{})
	resp, err := post(t, s.URL, ga4.DebugCollectPath, []byte(`{"client_id":"1.2","events":[{"name":"_badEventName"}]}`))
	require.NoError(t, err)
	var out struct {
		ValidationMessages []ga4.Message `json:"validationMessages"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Equal(t, []ga4.Message{{FieldPath: "events", Code: "NAME_INVALID",
		Description: "Event at index: [0] has invalid name [_badEventName]. Names must start with an alphabetic character."}}, out.ValidationMessages)

	resp, err = post(t, s.URL, ga4.DebugCollectPath, body("A"))
	require.NoError(t, err)
	raw := new(bytes.Buffer)
	_, _ = raw.ReadFrom(resp.Body)
	require.JSONEq(t, `{"validationMessages": []}`, raw.String())
	require.Equal(t, ga4test.Stats{Requests: 2, DebugRequests: 2}, s.Stats())
}

func TestFaultsNextN(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{NextDrop: 1, Next5xx: 1, Next429: 1, RetryAfter: 1500 * time.Millisecond})
	_, err := post(t, s.URL, ga4.CollectPath, body("A"))
	require.Error(t, err, "the connection is closed after the request was read")
	resp, err := post(t, s.URL, ga4.CollectPath, body("A"))
	require.NoError(t, err)
	require.Equal(t, 500, resp.StatusCode)
	resp, err = post(t, s.URL, ga4.CollectPath, body("A"))
	require.NoError(t, err)
	require.Equal(t, 429, resp.StatusCode)
	require.Equal(t, "2", resp.Header.Get("Retry-After"))
	resp, err = post(t, s.URL, ga4.CollectPath, body("A"))
	require.NoError(t, err)
	require.Equal(t, 204, resp.StatusCode)
	require.Equal(t, ga4test.Stats{Requests: 4, Accepted: 2, Duplicates: 1, Faults5xx: 1, Faults429: 1, FaultsDrop: 1}, s.Stats())
	var faults []string
	for _, r := range s.Requests() {
		faults = append(faults, r.Fault)
	}
	require.Equal(t, []string{"drop", "5xx", "429", ""}, faults)
}

func TestFaultSharesAreSeededAndDeterministic(t *testing.T) {
	t.Parallel()
	run := func() []string {
		s := start(t, ga4test.Faults{Share5xx: 0.3, Share429: 0.2})
		var out []string
		for range 40 {
			resp, err := post(t, s.URL, ga4.CollectPath, body("A"))
			require.NoError(t, err)
			out = append(out, resp.Status)
		}
		st := s.Stats()
		require.Equal(t, 40, st.Requests)
		require.Equal(t, 40, st.Accepted+st.Faults5xx+st.Faults429)
		require.NotZero(t, st.Faults5xx)
		require.NotZero(t, st.Faults429)
		require.NotZero(t, st.Accepted)
		return out
	}
	require.Equal(t, run(), run(), "the same seed fails the same requests")
}

func TestFaultsOverHTTPAndValidation(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{})
	req, err := http.NewRequest(http.MethodPut, s.URL+"/emulator/faults", strings.NewReader(`{"share_5xx":0.5,"share_goaway":0.25,"latency":"20ms","next_429":2,"next_goaway":1}`))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, ga4test.Faults{Share5xx: 0.5, ShareGoAway: 0.25, Latency: 20 * time.Millisecond, Next429: 2, NextGoAway: 1}, s.Faults())

	for _, bad := range []string{`{"share_5xx":1.5}`, `{"latency":"soon"}`, `{"share_5xx":0.6,"share_429":0.6}`, `{"share_goaway":0.6,"share_drop":0.6}`, `nope`} {
		req, _ := http.NewRequest(http.MethodPut, s.URL+"/emulator/faults", strings.NewReader(bad))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 400, resp.StatusCode, bad)
	}
	_, err = ga4test.NewServer(&ga4test.Options{Faults: ga4test.Faults{ShareDrop: -1}})
	require.Error(t, err)
}

func TestLatency(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond})
	begin := time.Now()
	_, err := post(t, s.URL, ga4.CollectPath, body("A"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(begin), 30*time.Millisecond)
}

func TestWaitAcceptedWakesOnSignal(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan []ga4test.Event)
	go func() {
		ev, err := s.WaitAccepted(ctx, 2)
		if err != nil {
			ev = nil
		}
		done <- ev
	}()
	for _, tid := range []string{"A", "B"} {
		_, err := post(t, s.URL, ga4.CollectPath, body(tid))
		require.NoError(t, err)
	}
	require.Len(t, <-done, 2)

	short, cancel2 := context.WithCancel(context.Background())
	cancel2()
	_, err := s.WaitAccepted(short, 3)
	require.ErrorIs(t, err, context.Canceled)
}

func TestNotJSONIsRecordedAsRequestOnly(t *testing.T) {
	t.Parallel()
	s := start(t, ga4test.Faults{})
	resp, err := post(t, s.URL, ga4.CollectPath, []byte("garbage"))
	require.NoError(t, err)
	require.Equal(t, 204, resp.StatusCode)
	require.Equal(t, ga4test.Stats{Requests: 1}, s.Stats())
	resp, err = http.Get(s.URL + ga4.CollectPath)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestMaxRecordedAndSince(t *testing.T) {
	t.Parallel()
	s := ga4test.Start(t, &ga4test.Options{MaxRecorded: 2, Now: func() time.Time { return now }})
	for _, tid := range []string{"X", "Y", "Z", "B", "C", "A"} {
		_, err := post(t, s.URL, ga4.CollectPath, body(tid))
		require.NoError(t, err)
	}
	require.Equal(t, []int64{5, 6}, []int64{s.Events()[0].Seq, s.Events()[1].Seq}, "only the last MaxRecorded, although more are held")
	s.Reset()
	for _, tid := range []string{"A", "B", "C", "A"} {
		_, err := post(t, s.URL, ga4.CollectPath, body(tid))
		require.NoError(t, err)
	}
	ev := s.Events()
	require.Len(t, ev, 2)
	require.Equal(t, []int64{3, 4}, []int64{ev[0].Seq, ev[1].Seq})
	require.True(t, ev[1].Duplicate, "duplicates are detected beyond the kept window")
	require.Equal(t, ga4test.Stats{Requests: 4, Accepted: 4, Duplicates: 1}, s.Stats())
	require.Len(t, s.Requests(), 2)

	var since struct{ Events []ga4test.Event }
	getJSON(t, s.URL+"/emulator/events?since=3", &since)
	require.Len(t, since.Events, 1)
	require.Equal(t, "A", since.Events[0].TransactionID)
	resp, err := http.Get(s.URL + "/emulator/events?since=x")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 400, resp.StatusCode)
}
