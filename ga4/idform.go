package ga4

import "strings"

// IDForm is the form in which a client_id or session_id was captured. It
// says what the sender does with the id and how the report counts it
// (docs/IDS.md).
type IDForm string

// The forms of a captured id.
const (
	// IDMissing: empty or white space only.
	IDMissing IDForm = "missing"
	// IDPlain: the form Google recommends (two positive integers joined by
	// a dot; a session start in Unix seconds), sent as it is.
	IDPlain IDForm = "plain"
	// IDCookie: a whole cookie value (_ga, or _ga_<ID> in GS1 or GS2); the
	// id is recovered from it and sent in the plain form.
	IDCookie IDForm = "cookie"
	// IDFragment: a session_id that is the part of a GS2 cookie value after
	// "GS2.<level>." ("s1748934661$o208..."); the session start is recovered
	// from it and sent.
	IDFragment IDForm = "fragment"
	// IDNonGA: a client_id that is a tracker's own id, not the GA tag's: a
	// UUID or an AMP client id ("amp-..."). It cannot join a browser
	// session; the row is skipped as invalid, and the report counts it as
	// non_ga_client_id.
	IDNonGA IDForm = "non_ga"
	// IDInvalid: anything else; the id is unusable.
	IDInvalid IDForm = "invalid"
)

// Recovered reports whether the id was recovered from a cookie value or a
// fragment of one, rather than captured in the plain form.
func (f IDForm) Recovered() bool { return f == IDCookie || f == IDFragment }

// ClientIDForm returns the form of a captured client_id: IDMissing,
// IDPlain, IDCookie (NormalizeClientID recovers it), IDNonGA (a UUID or an
// AMP client id) or IDInvalid.
func ClientIDForm(s string) IDForm {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return IDMissing
	case isClientID(s):
		return IDPlain
	case strings.HasPrefix(s, "GA"):
		if _, err := ClientIDFromCookie(s); err == nil {
			return IDCookie
		}
	case looksLikeUUID(s) || looksLikeAMPClientID(s):
		return IDNonGA
	}
	return IDInvalid
}

// SessionIDForm returns the form of a captured session_id: IDMissing,
// IDPlain (10 digits), IDCookie (a whole GS1 or GS2 value, URL-encoded or
// not), IDFragment (a GS2 fragment) or IDInvalid (ParseSessionID fails).
func SessionIDForm(s string) IDForm {
	s = strings.TrimSpace(s)
	if s == "" {
		return IDMissing
	}
	if _, err := ParseSessionID(s); err != nil {
		return IDInvalid
	}
	switch {
	case allDigits(s):
		return IDPlain
	case strings.HasPrefix(s, "GS"):
		return IDCookie
	}
	return IDFragment
}
