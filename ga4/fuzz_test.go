package ga4_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

func FuzzParseSessionCookie(f *testing.F) {
	for _, s := range []string{"GS1.1.1673933110.12.0.1673933110.60.0.0", "GS1.1.1690013078.2.1.1690013090.0",
		"GS2.1.s1747132561$o1$g0$t1747132655$j0$l0$h0", "GS2.1.t1$s1747132561$", "GS2.1.s1747132561%24o1", "GS2.1.$$", "GS1.", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ga4.ParseSessionCookie(s)
		if err == nil && (c.SessionID < 1577836800 || c.SessionID > 9999999999) {
			t.Fatalf("accepted implausible session id %d from %q", c.SessionID, s)
		}
	})
}

func FuzzParseSessionID(f *testing.F) {
	for _, s := range []string{"1747132561", "1747132561000", "GS2.1.s1747132561", "abc", " 1747132561 ", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ga4.ParseSessionID(s)
		if err == nil && (n < 1577836800 || n > 9999999999) {
			t.Fatalf("accepted implausible session id %d from %q", n, s)
		}
	})
}

func FuzzNormalizeClientID(f *testing.F) {
	for _, s := range []string{"1197596843.1673515099", "GA1.1.1197596843.1673515099", "a@b.c", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "GA1.1..", "0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ga4.NormalizeClientID(s)
		if err != nil {
			return
		}
		again, err := ga4.NormalizeClientID(id)
		if err != nil || again != id {
			t.Fatalf("normalised %q to %q, which does not normalise to itself (%q, %v)", s, id, again, err)
		}
		r := &ga4.Request{ClientID: id, Events: []ga4.Event{{Name: "sign_up"}}}
		if msgs := ga4.Validate(r, time.Now()); len(msgs) != 0 {
			t.Fatalf("normalised client_id %q fails Validate: %v", id, msgs)
		}
	})
}

// FuzzIDForms holds the forms to the parsers: a form is usable exactly
// when the parser accepts the id, a recovered id is sent normalised and
// valid, and Validate flags the raw value it was recovered from.
func FuzzIDForms(f *testing.F) {
	for _, s := range []string{"1197596843.1673515099", "GA1.1.GA1.2.202830711.1689950339", "GA1.2-3.1.2",
		"35009a79-1a05-49d7-b876-2b884d0f825b", "amp-qRLck9w4Ncp0Um97qQ_1Wg", "1748934661",
		"s1748934661$o208$g1$t1748935291$j60$l0$h0", "GS2.1.s1748934661%24o208", " s1748934661 $ o2", "GS1.1.1692011434.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cid, cerr := ga4.NormalizeClientID(s)
		switch form := ga4.ClientIDForm(s); form {
		case ga4.IDPlain, ga4.IDCookie:
			if cerr != nil {
				t.Fatalf("client id %q is %s but does not normalise: %v", s, form, cerr)
			}
			if form == ga4.IDCookie && cid == strings.TrimSpace(s) {
				t.Fatalf("client id %q is a cookie but normalises to itself", s)
			}
		default:
			if cerr == nil {
				t.Fatalf("client id %q is %s but normalises to %q", s, form, cid)
			}
		}
		sid, serr := ga4.ParseSessionID(s)
		form := ga4.SessionIDForm(s)
		if (serr == nil) != (form != ga4.IDInvalid && form != ga4.IDMissing) {
			t.Fatalf("session id %q is %s, ParseSessionID: %d %v", s, form, sid, serr)
		}
		if serr != nil {
			return
		}
		at := time.Unix(sid, 0).Add(time.Minute)
		r := func(v any) *ga4.Request {
			return &ga4.Request{ClientID: "1.2", Events: []ga4.Event{{Name: "sign_up", TimestampMicros: at.UnixMicro(),
				Params: map[string]any{"session_id": v, "engagement_time_msec": 1}}}}
		}
		if msgs := ga4.Validate(r(sid), at); len(msgs) != 0 {
			t.Fatalf("session id %d recovered from %q fails Validate: %v", sid, s, msgs)
		}
		if msgs := ga4.Validate(r(s), at); form.Recovered() != (len(msgs) == 1) {
			t.Fatalf("raw session id %q (%s) gives %v", s, form, msgs)
		}
	})
}

func FuzzValidateJSON(f *testing.F) {
	valid, _ := json.Marshal(validRequest())
	f.Add(valid)
	for _, s := range []string{`{"client_id":"1.2","events":[{"name":"_bad","params":{"a":1,"a":2}}]}`,
		`{"events":[{"params":{"items":[1,{"price":"x"}]}}]}`, `{"events":"x"}`, `[]`, `{`, `{"user_properties":{"x":{"value":[1]}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs, err := ga4.ValidateJSON(body, now)
		if err == nil && len(msgs) == 0 {
			// A body we call valid must encode again, and stay valid.
			r, _, _ := ga4.DecodeRequest(body)
			again, err := ga4.Encode(r)
			if err != nil {
				t.Fatalf("valid body does not re-encode: %v", err)
			}
			if msgs, err := ga4.ValidateJSON(again, now); err != nil || len(msgs) != 0 {
				t.Fatalf("valid body %s re-encodes to %s, which is not valid: %v %v", body, again, msgs, err)
			}
		}
	})
}

func FuzzBuildEvent(f *testing.F) {
	f.Add("purchase", "ORD-1", "49.90", "EUR", `{"items":[{"item_id":"a"}]}`, `{"plan":"pro"}`, "GA1.1.1.2", "1747136400", "granted")
	f.Add("", "", "x", "", `[`, `null`, "", "GS2.1.s1", "")
	f.Fuzz(func(t *testing.T, name, tid, value, cur, params, props, cid, sid, consent string) {
		c := ga4.EventInput{EventName: name, TransactionID: tid, Value: value, Currency: cur,
			Params: json.RawMessage(params), UserProperties: json.RawMessage(props),
			ClientID: cid, SessionID: sid, AdUserData: consent, OccurredAt: now.Add(-time.Minute)}
		req, msgs := ga4.BuildEvent(c, now)
		if len(msgs) == 0 {
			body, err := ga4.Encode(&req)
			if err != nil {
				t.Fatalf("valid request does not encode: %v", err)
			}
			if msgs, err := ga4.ValidateJSON(body, now); err != nil || len(msgs) != 0 {
				t.Fatalf("BuildEvent called it valid, the body %s is not: %v %v", body, msgs, err)
			}
		}
	})
}
