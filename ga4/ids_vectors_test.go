package ga4_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// clientVectors are _ga cookies and client ids as real browsers and
// integrations produced them, each with its public source.
var clientVectors = []struct {
	source, in, want string // want "" = not normalisable
	form             ga4.IDForm
}{
	{"issue 21 of this project: a _ga value with its prefix twice, captured in the wild",
		"GA1.1.GA1.2.202830711.1689950339", "202830711.1689950339", ga4.IDCookie},
	{"baibaratsky/yii2-ga-measurement-protocol#1 (2017): an analytics.js-era GA1.2 cookie",
		"GA1.2.1592987322.1509026938", "1592987322.1509026938", ga4.IDCookie},
	{"8ctopus/php-gtag cookies.md: a gtag.js GA1.1 cookie",
		"GA1.1.1827526090.1689745728", "1827526090.1689745728", ga4.IDCookie},
	{"the same cookie as a Cookie header splitter leaves it: stray white space",
		" GA1.1.1827526090.1689745728\t", "1827526090.1689745728", ga4.IDCookie},
	{"ampproject/samples#44 and ampproject/amphtml#5761: GA<version>.<level>[-<path>].<id>; the path code form",
		"GA1.2-3.1592987322.1509026938", "1592987322.1509026938", ga4.IDCookie},
	{"theiconic/php-ga-measurement-protocol#102: the plain client id an integration sends",
		"2133506694.1448249699", "2133506694.1448249699", ga4.IDPlain},
	{"ins0/google-measurement-php-client#7: analytics.js clientId set to a UUID by the site",
		"35009a79-1a05-49d7-b876-2b884d0f825b", "", ga4.IDNonGA},
	{"an AMP client id as ampproject/amphtml's tests expect it (cid=amp-<22 characters>)",
		"amp-qRLck9w4Ncp0Um97qQ_1Wg", "", ga4.IDNonGA},
	{"nystudio107/instantanalytics#19: a _ga cookie whose id is a UUID; not recovered (docs/IDS.md)",
		"GA1.2.7f5e6360-aa06-4855-bb27-e64ff7885b6e", "", ga4.IDInvalid},
	{"a JavaScript integration that stringified a missing value", "undefined", "", ga4.IDInvalid},
	{"an AMP test fixture's short id: too short for a real AMP id", "amp-12345", "", ga4.IDInvalid},
}

// sessionVectors are session ids and _ga_<ID> cookies as real browsers and
// integrations produced them, each with its public source.
var sessionVectors = []struct {
	source, in string
	want       int64 // 0 = unusable
	form       ga4.IDForm
}{
	{"jitsucom/jitsu#1219: the GS2 fragment Jitsu sent as session_id before its fix",
		"s1748934661$o208$g1$t1748935291$j60$l0$h0", 1748934661, ga4.IDFragment},
	{"jitsucom/jitsu#1219: the whole GS2 cookie", "GS2.1.s1748934661$o208$g1$t1748935291$j60$l0$h0", 1748934661, ga4.IDCookie},
	{"jitsucom/jitsu#1219: the GS1 cookie before May 2025", "GS1.1.1692011434.1.1.1692011474.0.0.0", 1692011434, ga4.IDCookie},
	{"Velir/dbt-ga4#366: a GS2 fragment stored as ga_session_id",
		"s1747075570$o5$g1$t1747077281$j36$l0$h0", 1747075570, ga4.IDFragment},
	{"elgentos/magento2-serversideanalytics#78: GS1 with a ninth part",
		"GS1.1.1732016998.2.1.1732018235.0.0.692404937", 1732016998, ga4.IDCookie},
	{"elgentos/magento2-serversideanalytics#78: GS2 with h and d items",
		"GS2.1.s1748246127$o6$g1$t1748248990$j22$l0$h263126385$dQn_oPl1JlfID64muTcg9EeKK4oR_eD4EGg", 1748246127, ga4.IDCookie},
	{"elgentos/magento2-serversideanalytics#78: GS2 at domain level 3",
		"GS2.3.s1748247201$o9$g1$t1748248226$j0$l0$h0", 1748247201, ga4.IDCookie},
	{"8ctopus/php-gtag cookies.md: GS1 on a first day", "GS1.1.1689765380.3.1.1689766550.0.0.0", 1689765380, ga4.IDCookie},
	{"jitsucom/jitsu#1219's cookie URL-encoded (%24 for $), as some Cookie parsers leave it",
		"GS2.1.s1748934661%24o208%24g1%24t1748935291%24j60%24l0%24h0", 1748934661, ga4.IDCookie},
	{"jitsucom/jitsu#1219's fragment URL-encoded", "s1748934661%24o208%24g1", 1748934661, ga4.IDFragment},
	{"jitsucom/jitsu#1219's fragment with stray spaces", "  s1748934661 $ o208$g1 ", 1748934661, ga4.IDFragment},
	{"jitsucom/jitsu#1219's session id as gtag('get') returns it", "1748934661", 1748934661, ga4.IDPlain},
	{"a GS1 body without its prefix: the first part could be any number, not recovered",
		"1692011434.1.1.1692011474.0.0.0", 0, ga4.IDInvalid},
	{"a fragment that does not start with its s item: not recovered", "o208$s1748934661$g1", 0, ga4.IDInvalid},
}

func TestIDVectorsFromPublicSources(t *testing.T) {
	t.Parallel()
	for _, v := range clientVectors {
		require.Equal(t, v.form, ga4.ClientIDForm(v.in), v.source)
		got, err := ga4.NormalizeClientID(v.in)
		if v.want == "" {
			require.Error(t, err, v.source)
			continue
		}
		require.NoError(t, err, v.source)
		require.Equal(t, v.want, got, v.source)
	}
	for _, v := range sessionVectors {
		require.Equal(t, v.form, ga4.SessionIDForm(v.in), v.source)
		got, err := ga4.ParseSessionID(v.in)
		if v.want == 0 {
			require.Error(t, err, v.source)
			continue
		}
		require.NoError(t, err, v.source)
		require.Equal(t, v.want, got, v.source)
	}
}

// Every recoverable vector is sent normalised and valid, and attributed.
func TestBuildEventSendsRecoveredIDs(t *testing.T) {
	t.Parallel()
	for _, v := range sessionVectors {
		if v.want == 0 {
			continue
		}
		start := time.Unix(v.want, 0)
		send := start.Add(20 * time.Minute)
		req, msgs := ga4.BuildEvent(ga4.EventInput{EventName: "purchase", TransactionID: "T-1", Value: "10", Currency: "EUR",
			ClientID: "GA1.1.GA1.2.202830711.1689950339", SessionID: v.in, SessionEventAt: start.Add(5 * time.Minute)}, send)
		require.Empty(t, msgs, v.source)
		require.Equal(t, "202830711.1689950339", req.ClientID, v.source)
		require.Equal(t, v.want, req.Events[0].Params["session_id"], v.source)
		require.True(t, ga4.CheckAttribution(v.in, start.Add(5*time.Minute), true, send).Attributable, v.source)
	}
}

// Validate names the plain id to send for a raw cookie value or fragment,
// and leaves the plain ids alone.
func TestValidateExplainsRecoveredIDs(t *testing.T) {
	t.Parallel()
	start := time.Unix(1748934661, 0)
	check := func(client string, sid any) []ga4.Message {
		r := &ga4.Request{ClientID: client, Events: []ga4.Event{{Name: "purchase", TimestampMicros: start.Add(time.Minute).UnixMicro(),
			Params: map[string]any{"session_id": sid, "engagement_time_msec": 1, "transaction_id": "T-1", "value": json.Number("1"), "currency": "EUR"}}}}
		return ga4.Validate(r, start.Add(time.Hour))
	}
	require.Empty(t, check("202830711.1689950339", int64(1748934661)))
	require.Empty(t, check("202830711.1689950339", "1748934661"))

	msgs := check("GA1.1.GA1.2.202830711.1689950339", "s1748934661$o208$g1$t1748935291$j60$l0$h0")
	require.Len(t, msgs, 2)
	require.Equal(t, "client_id", msgs[0].FieldPath)
	require.Contains(t, msgs[0].Description, "send [202830711.1689950339]")
	require.Equal(t, "events[0].params.session_id", msgs[1].FieldPath)
	require.Contains(t, msgs[1].Description, "fragment of a GS2 _ga_<ID> cookie")
	require.Contains(t, msgs[1].Description, "send its session start [1748934661]")

	msgs = check("202830711.1689950339", "GS2.1.s1748934661$o208")
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Description, "whole _ga_<ID> cookie value; send its session start [1748934661]")

	msgs = check("35009a79-1a05-49d7-b876-2b884d0f825b", int64(1748934661))
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Description, "looks like a UUID")
	msgs = check("amp-qRLck9w4Ncp0Um97qQ_1Wg", int64(1748934661))
	require.Len(t, msgs, 1)
	require.Contains(t, msgs[0].Description, "is an AMP client id")
}
