package ga4test

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// Channel is what GA4 credits a session with, as the Data API's
// session-scoped dimensions report it: sessionDefaultChannelGroup,
// sessionSourceMedium and sessionCampaignName.
type Channel struct {
	Group        string `json:"group"`
	SourceMedium string `json:"source_medium"`
	Campaign     string `json:"campaign"`
}

// The channels the emulator credits without a seeded session.
var (
	// ChannelDirect is a session GA4 knows no source for: a purchase sent
	// more than 24 h after its session started, with a timestamp outside
	// it, or with a session id no seeded session has.
	ChannelDirect = Channel{Group: "Direct", SourceMedium: "(direct) / (none)", Campaign: "(direct)"}
	// ChannelUnassigned is a purchase without a usable session id: GA4
	// opens a session of its own for it, without a source.
	ChannelUnassigned = Channel{Group: "Unassigned", SourceMedium: "(not set)", Campaign: "(not set)"}
)

// otherValue is every dimension of the row GA4 folds rows into.
const otherValue = "(other)"

// SeedSession says which channel the browser session sessionID (a session
// start in Unix seconds, or any form ga4.ParseSessionID reads) came from,
// as the site's tag would have told GA4. Purchases sent within 24 h of the
// session start with a timestamp inside it are credited to ch. Seeded
// sessions survive Reset, like the faults.
func (s *Server) SeedSession(sessionID string, ch Channel) error {
	start, err := ga4.ParseSessionID(sessionID)
	if err != nil {
		return fmt.Errorf("seed session: %w", err)
	}
	if ch.Group == "" {
		return fmt.Errorf("seed session %s: the channel group is empty", sessionID)
	}
	ch.SourceMedium = cmpStr(ch.SourceMedium, "(not set)")
	ch.Campaign = cmpStr(ch.Campaign, "(not set)")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data.sessions[start] = ch
	return nil
}

// SeedSessions seeds every session of m (session id to channel), stopping
// at the first bad one.
func (s *Server) SeedSessions(m map[string]Channel) error {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids) // the same error first at every run
	for _, id := range ids {
		if err := s.SeedSession(id, m[id]); err != nil {
			return err
		}
	}
	return nil
}

// purchase is one purchase as GA4 counts it: after deduplication, with the
// channel it was credited to and its revenue in the property's currency.
type purchase struct {
	tid     string
	at      time.Time // the event time
	ch      Channel
	revenue float64
}

// purchasesLocked lists the purchases the property of measurement ids mids
// (nil: all) counts, in arrival order. GA4 deduplicates purchases by
// transaction id (web streams; Google's older wording: within one user),
// so an id sent again by the same client id counts once and one sent from
// two client ids counts twice. Faults.ReportLoseShare leaves some out.
func (s *Server) purchasesLocked(mids []string) []purchase {
	seen := map[[2]string]bool{}
	var out []purchase
	for i := range s.events {
		e := &s.events[i]
		if e.Dropped || e.Name != "purchase" || e.TransactionID == "" || (mids != nil && !slices.Contains(mids, e.MeasurementID)) {
			continue
		}
		key := [2]string{e.TransactionID, e.ClientID}
		if seen[key] || s.data.drawn(e.TransactionID, "lose", s.faults.ReportLoseShare) {
			continue
		}
		seen[key] = true
		out = append(out, purchase{tid: e.TransactionID, at: eventTime(e), ch: s.data.credit(e),
			revenue: s.data.revenue(e.Params["value"], e.Params["currency"])})
	}
	return out
}

// credit decides the channel GA4 credits a purchase with: Unassigned
// without a usable session id; Direct when sent more than 24 h after the
// session start or with a timestamp outside [start, start + 24 h]; else
// the seeded session's channel, Direct when none was seeded.
func (d *dataAPI) credit(e *Event) Channel {
	sid, ok := paramText(e.Params["session_id"])
	if !ok {
		return ChannelUnassigned
	}
	a := ga4.CheckAttribution(sid, eventTime(e), true, e.ReceivedAt)
	switch {
	case a.Reason == ga4.ReasonMissingSessionID || a.Reason == ga4.ReasonInvalidSessionID:
		return ChannelUnassigned
	case !a.Attributable:
		return ChannelDirect
	}
	start, _ := ga4.ParseSessionID(sid)
	if ch, ok := d.sessions[start]; ok {
		return ch
	}
	return ChannelDirect
}

// eventTime is the event's timestamp_micros (its own, else the request's),
// else the time it was received.
func eventTime(e *Event) time.Time {
	if e.TimestampMicros > 0 {
		return time.UnixMicro(e.TimestampMicros)
	}
	return e.ReceivedAt
}

// paramText returns a string or number parameter as text.
func paramText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	}
	return "", false
}

// usdPer is the fixed exchange rate the emulator converts revenue with:
// US dollars per unit of each currency it knows.
var usdPer = map[string]float64{"USD": 1, "EUR": 1.10, "GBP": 1.27, "CHF": 1.12, "CAD": 0.73, "JPY": 0.0067}

// revenue is a purchase's value in the property's currency. A value sent
// as a string, a currency missing, lower case or unknown to usdPer gives
// 0, as GA4 leaves such purchases out of revenue.
func (d *dataAPI) revenue(value, currency any) float64 {
	cur, _ := currency.(string)
	from, ok := usdPer[cur]
	to, ok2 := usdPer[d.currency]
	if _, isString := value.(string); isString || !ok || !ok2 {
		return 0
	}
	text, ok := paramText(value)
	v, err := strconv.ParseFloat(text, 64)
	if !ok || err != nil {
		return 0
	}
	if cur == d.currency {
		return v
	}
	return math.Round(v*from/to*100) / 100
}

// drawn reports whether transaction id tid falls in share for the draw
// named salt: a hash of the seed, the salt and the id, so the same ids are
// drawn at every request and every run.
func (d *dataAPI) drawn(tid, salt string, share float64) bool {
	if share <= 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%s", d.seed, salt, tid)
	x := h.Sum64() // FNV mixes its high bits poorly: finish like splitmix64
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53) < share
}

// dimensionValue is a purchase's value of a Data API dimension.
func (d *dataAPI) dimensionValue(name string, p *purchase) string {
	switch name {
	case "transactionId":
		return p.tid
	case "sessionDefaultChannelGroup":
		return p.ch.Group
	case "sessionSourceMedium":
		return p.ch.SourceMedium
	case "sessionSource", "sessionMedium":
		src, med, ok := strings.Cut(p.ch.SourceMedium, " / ")
		if !ok {
			src, med = p.ch.SourceMedium, p.ch.SourceMedium
		}
		return map[bool]string{true: src, false: med}[name == "sessionSource"]
	case "sessionCampaignName":
		return p.ch.Campaign
	case "date":
		return p.at.In(d.loc).Format("20060102")
	}
	return ""
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
