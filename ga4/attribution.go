package ga4

import (
	"strings"
	"time"
)

// Attribution says whether an event can still be joined to its browser
// session. Reason is "" when Attributable, else one of the Reason* values.
type Attribution struct {
	Attributable bool
	Reason       string
}

// Reasons an event cannot be attributed to its session.
const (
	// ReasonMissingSessionID: the conversion carries no session_id.
	ReasonMissingSessionID = "missing_session_id"
	// ReasonInvalidSessionID: the session_id is not a plausible Unix-seconds
	// session start (see ParseSessionID).
	ReasonInvalidSessionID = "invalid_session_id"
	// ReasonSentAfter24h: the request is sent more than 24 h after the
	// session started.
	ReasonSentAfter24h = "sent_after_24h"
	// ReasonBeforeSession: the event time is before the session started.
	ReasonBeforeSession = "timestamp_before_session"
	// ReasonOutsideSession: the event time is more than 24 h after the
	// session start, or (when it is only the business time) more than
	// SessionTimeout after it.
	ReasonOutsideSession = "timestamp_outside_session"
)

// CheckAttribution decides whether an event with this session_id, event
// time and send time is attributable to its session.
//
// The rule: eventTime must be >= session start and <= session start + 24 h;
// when !inSession (only the business time is known, not a moment captured in
// the browser session) eventTime must also be <= session start +
// SessionTimeout, because a later business time cannot be proven to lie in
// the session (a webhook 40 minutes after the session began counts as
// outside). sendTime must be <= session start + 24 h (exactly 24 h is OK).
//
// When several rules fail, the first in this order is the Reason:
// missing_session_id, invalid_session_id, timestamp_before_session,
// timestamp_outside_session, sent_after_24h. The report's SQL uses the
// same order.
func CheckAttribution(sessionID string, eventTime time.Time, inSession bool, sendTime time.Time) Attribution {
	if strings.TrimSpace(sessionID) == "" {
		return Attribution{Reason: ReasonMissingSessionID}
	}
	sec, err := ParseSessionID(sessionID)
	if err != nil {
		return Attribution{Reason: ReasonInvalidSessionID}
	}
	start := time.Unix(sec, 0)
	limit := start.Add(MaxAttributionLatency)
	if !inSession {
		limit = start.Add(SessionTimeout)
	}
	switch {
	case eventTime.Before(start):
		return Attribution{Reason: ReasonBeforeSession}
	case eventTime.After(limit):
		return Attribution{Reason: ReasonOutsideSession}
	case sendTime.After(start.Add(MaxAttributionLatency)):
		return Attribution{Reason: ReasonSentAfter24h}
	}
	return Attribution{Attributable: true}
}
