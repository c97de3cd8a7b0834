package web_test

import (
	"encoding/json"
	"html"
	"html/template"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/internal/browsertest"
	"github.com/ga4-outbox/ga4-outbox/web"
)

// scenario is what the test page's stub gtag does; the page reads it as JSON.
type scenario struct {
	Gtag      bool             `json:"gtag"`      // define window.gtag at all
	Answer    bool             `json:"answer"`    // answer 'get' commands
	DelayMs   int              `json:"delayMs"`   // answer after this long
	TimeoutMs int              `json:"timeoutMs"` // getGa4Ids' timeoutMs
	IDs       map[string]any   `json:"ids"`       // the answers
	Consent   []consentCommand `json:"consent"`   // consent commands, in order
	_         struct{}         `json:"-"`
}

// consentCommand is ["default"|"update", {analytics_storage: ...}].
type consentCommand [2]any

type consent struct {
	AnalyticsStorage  *string `json:"analytics_storage"`
	AdUserData        *string `json:"ad_user_data"`
	AdPersonalization *string `json:"ad_personalization"`
}

type ids struct {
	ClientID  *string `json:"client_id"`
	SessionID *string `json:"session_id"`
	Consent   consent `json:"consent"`
	TimedOut  bool    `json:"timed_out"`
}

type fields struct {
	ClientID                 *string `json:"client_id"`
	SessionID                *string `json:"session_id"`
	SessionEventAt           *string `json:"session_event_at"`
	ConsentAnalyticsStorage  *string `json:"consent_analytics_storage"`
	ConsentAdUserData        *string `json:"consent_ad_user_data"`
	ConsentAdPersonalization *string `json:"consent_ad_personalization"`
}

// result is what the page writes into <pre id="result">.
type result struct {
	Error     string            `json:"error"`
	IDs       ids               `json:"ids"`
	ElapsedMs float64           `json:"elapsed_ms"`
	Fields    fields            `json:"fields"`
	Form      map[string]string `json:"form"`
	Gets      []string          `json:"gets"`
}

var page = template.Must(template.ParseFiles("testdata/page.html"))

var resultRE = regexp.MustCompile(`(?s)<pre id="result">(.*?)</pre>`)

// sem keeps at most two browsers running at once.
var sem = make(chan struct{}, 2)

// runPage serves the page for sc and ga4-ids.js, runs it in Chromium and
// returns what the page reported.
func runPage(t *testing.T, sc scenario) result {
	t.Helper()
	browsertest.Require(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ga4-ids.js", web.ServeGA4IDs)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if err := page.Execute(w, sc); err != nil {
			t.Errorf("render test page: %v", err)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	sem <- struct{}{}
	dom := browsertest.DumpDOM(t, srv.URL+"/", 0)
	<-sem
	m := resultRE.FindStringSubmatch(dom)
	require.NotNil(t, m, "no result element in the DOM:\n%s", dom)
	var res result
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &res), "page result: %s", m[1])
	require.Empty(t, res.Error, "the page threw")
	return res
}

func granted() consentCommand {
	return consentCommand{"default", map[string]string{
		"analytics_storage": "granted", "ad_user_data": "granted", "ad_personalization": "denied",
	}}
}

var testIDs = map[string]any{"client_id": "1234567890.1732780800", "session_id": 1732780800}

func str(s string) *string { return &s }

func TestGetGa4IDs(t *testing.T) {
	t.Parallel()

	t.Run("ids present", func(t *testing.T) {
		t.Parallel()
		before := time.Now().Add(-time.Minute)
		res := runPage(t, scenario{Gtag: true, Answer: true, DelayMs: 10, TimeoutMs: 1000,
			IDs: testIDs, Consent: []consentCommand{granted()}})

		require.Equal(t, ids{ClientID: str("1234567890.1732780800"), SessionID: str("1732780800"),
			Consent: consent{str("granted"), str("granted"), str("denied")}}, res.IDs)
		require.ElementsMatch(t, []string{"G-TEST123/client_id", "G-TEST123/session_id",
			"G-TEST123/client_id", "G-TEST123/session_id"}, res.Gets)
		require.Less(t, res.ElapsedMs, 1000.0, "answers came before the timeout")

		require.NotNil(t, res.Fields.SessionEventAt)
		at, err := time.Parse(time.RFC3339Nano, *res.Fields.SessionEventAt)
		require.NoError(t, err, "session_event_at is ISO 8601")
		require.True(t, at.After(before) && at.Before(time.Now().Add(time.Minute)), "session_event_at %s is the click moment", at)
		require.Equal(t, fields{ClientID: str("1234567890.1732780800"), SessionID: str("1732780800"),
			SessionEventAt: res.Fields.SessionEventAt, ConsentAnalyticsStorage: str("granted"),
			ConsentAdUserData: str("granted"), ConsentAdPersonalization: str("denied")}, res.Fields)
		require.Equal(t, map[string]string{
			"client_id": "1234567890.1732780800", "session_id": "1732780800",
			"session_event_at": *res.Fields.SessionEventAt, "consent_analytics_storage": "granted",
			"consent_ad_user_data": "granted", "consent_ad_personalization": "denied",
		}, res.Form, "hidden fields filled, the stale client_id input overwritten")
	})

	t.Run("gtag missing resolves at the timeout without ids", func(t *testing.T) {
		t.Parallel()
		res := runPage(t, scenario{Gtag: false, TimeoutMs: 500})
		require.Equal(t, ids{TimedOut: true}, res.IDs)
		require.Equal(t, map[string]string{"client_id": "", "session_id": "", "session_event_at": *res.Fields.SessionEventAt,
			"consent_analytics_storage": "", "consent_ad_user_data": "", "consent_ad_personalization": ""}, res.Form)
	})

	t.Run("gtag never answering resolves at the timeout", func(t *testing.T) {
		t.Parallel()
		res := runPage(t, scenario{Gtag: true, Answer: false, TimeoutMs: 700, IDs: testIDs,
			Consent: []consentCommand{granted()}})
		require.Equal(t, ids{TimedOut: true, Consent: consent{str("granted"), str("granted"), str("denied")}}, res.IDs)
		require.InDelta(t, 700, res.ElapsedMs, 100, "resolved by the timeout")
	})

	t.Run("gtag answering after the timeout gives no ids", func(t *testing.T) {
		t.Parallel()
		res := runPage(t, scenario{Gtag: true, Answer: true, DelayMs: 3000, TimeoutMs: 500, IDs: testIDs,
			Consent: []consentCommand{granted()}})
		require.Nil(t, res.IDs.ClientID)
		require.Nil(t, res.IDs.SessionID)
		require.True(t, res.IDs.TimedOut)
		require.InDelta(t, 500, res.ElapsedMs, 100, "did not wait for the slow answer")
		require.Nil(t, res.Fields.ClientID, "the late answer did not change the result")
	})

	t.Run("gtag answering slowly before the timeout gives ids", func(t *testing.T) {
		t.Parallel()
		res := runPage(t, scenario{Gtag: true, Answer: true, DelayMs: 400, TimeoutMs: 1000, IDs: testIDs,
			Consent: []consentCommand{granted()}})
		require.Equal(t, str("1234567890.1732780800"), res.IDs.ClientID)
		require.Equal(t, str("1732780800"), res.IDs.SessionID)
		require.False(t, res.IDs.TimedOut)
		require.InDelta(t, 400, res.ElapsedMs, 100, "resolved by the answer, not the timeout")
	})

	t.Run("analytics consent denied gives no ids and reports consent", func(t *testing.T) {
		t.Parallel()
		res := runPage(t, scenario{Gtag: true, Answer: true, DelayMs: 10, TimeoutMs: 1000, IDs: testIDs,
			Consent: []consentCommand{
				{"default", map[string]string{"analytics_storage": "granted", "ad_user_data": "granted", "ad_personalization": "granted"}},
				{"update", map[string]string{"analytics_storage": "denied", "ad_user_data": "denied"}},
			}})
		require.Equal(t, ids{Consent: consent{str("denied"), str("denied"), str("granted")}}, res.IDs)
		require.Empty(t, res.Gets, "gtag was not even asked")
		require.Equal(t, "denied", res.Form["consent_analytics_storage"])
		require.Empty(t, res.Form["client_id"])
	})

	t.Run("consent update granting analytics gives ids", func(t *testing.T) {
		t.Parallel()
		res := runPage(t, scenario{Gtag: true, Answer: true, DelayMs: 10, TimeoutMs: 1000, IDs: testIDs,
			Consent: []consentCommand{
				{"default", map[string]any{"analytics_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied", "wait_for_update": 500}},
				{"update", map[string]string{"analytics_storage": "granted"}},
			}})
		require.Equal(t, ids{ClientID: str("1234567890.1732780800"), SessionID: str("1732780800"),
			Consent: consent{str("granted"), str("denied"), str("denied")}}, res.IDs)
	})

	t.Run("region-scoped defaults apply only when they deny", func(t *testing.T) {
		t.Parallel()
		res := runPage(t, scenario{Gtag: true, Answer: true, DelayMs: 10, TimeoutMs: 1000, IDs: testIDs,
			Consent: []consentCommand{
				{"default", map[string]string{"analytics_storage": "granted", "ad_user_data": "granted", "ad_personalization": "denied"}},
				{"default", map[string]any{"analytics_storage": "denied", "ad_personalization": "granted", "region": []string{"DE", "FR"}}},
			}})
		require.Equal(t, ids{Consent: consent{str("denied"), str("granted"), str("denied")}}, res.IDs,
			"a regional denial applies, a regional grant does not")
	})

	t.Run("consent from a GTM array dataLayer without gtag", func(t *testing.T) {
		t.Parallel()
		res := runPage(t, scenario{Gtag: false, TimeoutMs: 300, Consent: []consentCommand{
			{"default", map[string]string{"analytics_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied"}},
		}})
		require.Equal(t, ids{Consent: consent{str("denied"), str("denied"), str("denied")}}, res.IDs,
			"denied short-circuits before the missing gtag is noticed")
	})
}
