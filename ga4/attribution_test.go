package ga4_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

func TestCheckAttribution(t *testing.T) {
	t.Parallel()
	start := time.Unix(sessionStart, 0)
	sid := "1747136400"
	cases := []struct {
		name      string
		sessionID string
		event     time.Time
		inSession bool
		send      time.Time
		reason    string
	}{
		{"InSessionSentPromptly", sid, start.Add(10 * time.Minute), true, start.Add(11 * time.Minute), ""},
		{"BusinessTimeWithinTimeout", sid, start.Add(29 * time.Minute), false, start.Add(time.Hour), ""},
		{"BusinessTimeExactlyAtTimeout", sid, start.Add(30 * time.Minute), false, start.Add(time.Hour), ""},
		{"SentExactly24hLater", sid, start.Add(time.Minute), true, start.Add(24 * time.Hour), ""},
		{"EventAtSessionStart", sid, start, true, start, ""},
		{"GS2CookieAccepted", "GS2.1.s1747136400$o1$g0$t1747136500", start.Add(time.Minute), true, start.Add(time.Minute), ""},
		{"MissingSessionID", " ", start, true, start, ga4.ReasonMissingSessionID},
		{"MillisecondsSessionID", "1747136400000", start, true, start, ga4.ReasonInvalidSessionID},
		{"GarbageSessionID", "abc", start, true, start, ga4.ReasonInvalidSessionID},
		{"SentAfter24h", sid, start.Add(time.Minute), true, start.Add(24*time.Hour + time.Second), ga4.ReasonSentAfter24h},
		{"BeforeSession", sid, start.Add(-time.Second), true, start, ga4.ReasonBeforeSession},
		{"WebhookFortyMinutesLater", sid, start.Add(40 * time.Minute), false, start.Add(41 * time.Minute), ga4.ReasonOutsideSession},
		{"InSessionTimeAfter24h", sid, start.Add(25 * time.Hour), true, start.Add(25 * time.Hour), ga4.ReasonOutsideSession},
		{"InSessionFortyMinutesIsFine", sid, start.Add(40 * time.Minute), true, start.Add(41 * time.Minute), ""},
		{"BeforeWinsOverSentLate", sid, start.Add(-time.Hour), true, start.Add(48 * time.Hour), ga4.ReasonBeforeSession},
		{"OutsideWinsOverSentLate", sid, start.Add(time.Hour), false, start.Add(48 * time.Hour), ga4.ReasonOutsideSession},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ga4.CheckAttribution(tc.sessionID, tc.event, tc.inSession, tc.send)
			require.Equal(t, ga4.Attribution{Attributable: tc.reason == "", Reason: tc.reason}, got)
		})
	}
}
