package demo

import (
	"math/rand/v2"

	"github.com/ga4-outbox/ga4-outbox/ga4/ga4test"
)

// channelMix is where the demo's browser sessions come from, with their
// shares (they add up to 1): mostly search, email and referrals, a few
// direct visits.
var channelMix = []struct {
	share float64
	ch    ga4test.Channel
}{
	{0.38, ga4test.Channel{Group: "Organic Search", SourceMedium: "google / organic", Campaign: "(organic)"}},
	{0.24, ga4test.Channel{Group: "Paid Search", SourceMedium: "google / cpc", Campaign: "spring_sale"}},
	{0.16, ga4test.Channel{Group: "Email", SourceMedium: "newsletter / email", Campaign: "march_newsletter"}},
	{0.14, ga4test.Channel{Group: "Referral", SourceMedium: "blog.example.com / referral", Campaign: "(referral)"}},
	{0.08, ga4test.ChannelDirect},
}

// Sessions returns the channel of each generated order's browser session,
// keyed by its session id, as the site's GA4 tag would have recorded it:
// what the demo seeds the emulator with (ga4test.Server.SeedSessions) so
// that its Data API credits each purchase sent in time to a believable
// channel. Orders without a session id have none. Deterministic for a
// seed (the generator's, Options.Seed; 0 is its default).
func Sessions(orders []Order, seed uint64) map[string]ga4test.Channel {
	if seed == 0 {
		seed = 20260314 // Generate's default
	}
	r := rand.New(rand.NewPCG(seed^0x5e55, seed))
	out := map[string]ga4test.Channel{}
	for i := range orders {
		if sid := orders[i].Conversion.SessionID; sid != "" {
			out[sid] = pickChannel(r.Float64())
		}
	}
	return out
}

func pickChannel(u float64) ga4test.Channel {
	for _, c := range channelMix {
		if u < c.share {
			return c.ch
		}
		u -= c.share
	}
	return channelMix[0].ch
}
