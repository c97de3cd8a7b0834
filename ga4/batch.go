package ga4

// Batch is one HTTP request's worth of events for one client: at most
// MaxEventsPerRequest events and an encoded body smaller than MaxBodyBytes.
type Batch[K any] struct {
	Request Request
	// Keys holds the caller's key of each event's request (see Batches),
	// in the same order as Request.Events.
	Keys []K
}

// batchKey is what events must share to travel in one request.
type batchKey struct {
	clientID, userID, behavior string
	consent                    Consent
}

// Batches groups already-built requests (usually one event each, from
// BuildEvent) by (client_id, user_id, consent) into Batches of at most 25
// events whose body stays under 130 kB, in first-seen order. keys[i] belongs
// to reqs[i] (a row index, an EventInput.Key) and is repeated for each of
// its events (K's zero value when keys is short). A request-level
// timestamp_micros moves onto events that have none; user properties of a
// group are merged (later requests win).
func Batches[K any](reqs []Request, keys []K) []Batch[K] {
	// Sized for the usual case, one request per client, so that a call
	// allocates each of these once and never grows them.
	order := make([]batchKey, 0, len(reqs))
	groups := make(map[batchKey][]int, len(reqs))
	for i := range reqs {
		k := keyOf(&reqs[i])
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([]Batch[K], 0, len(reqs))
	for _, k := range order {
		out = append(out, splitGroup(reqs, keys, groups[k])...)
	}
	return out
}

func keyOf(r *Request) batchKey {
	k := batchKey{clientID: r.ClientID, userID: r.UserID, behavior: r.ValidationBehavior}
	if r.Consent != nil {
		k.consent = *r.Consent
	}
	return k
}

// splitGroup packs the events of one group's requests into batches.
func splitGroup[K any](reqs []Request, keys []K, idx []int) []Batch[K] {
	var out []Batch[K]
	cur, size := newBatch[K](&reqs[idx[0]]), 0
	// A lone event (the usual case: one purchase per client) is sent alone
	// whatever its size: encoding it to measure would be wasted.
	measure := len(idx) > 1 || len(reqs[idx[0]].Events) > 1
	for _, i := range idx {
		r := &reqs[i]
		for _, e := range r.Events {
			if e.TimestampMicros == 0 {
				e.TimestampMicros = r.TimestampMicros
			}
			n := 0
			if measure {
				n = eventLen(&e)
			}
			if len(cur.Request.Events) == MaxEventsPerRequest || (len(cur.Request.Events) > 0 && size+n >= MaxBodyBytes) {
				out = append(out, cur)
				cur, size = newBatch[K](r), 0
			}
			if len(cur.Request.Events) == 0 && measure {
				size = requestOverhead(&cur.Request, r.UserProperties)
			}
			cur.Request.Events = append(cur.Request.Events, e)
			cur.Keys = append(cur.Keys, keyAt(keys, i))
			mergeProps(&cur.Request, r.UserProperties)
			size += n + 1
		}
	}
	return append(out, cur)
}

func newBatch[K any](r *Request) Batch[K] {
	b := Batch[K]{Request: *r}
	b.Request.TimestampMicros = 0
	b.Request.Events = nil
	b.Request.UserProperties = nil
	return b
}

func mergeProps(r *Request, props map[string]UserProperty) {
	if len(props) == 0 {
		return
	}
	if r.UserProperties == nil {
		r.UserProperties = map[string]UserProperty{}
	}
	for k, v := range props {
		r.UserProperties[k] = v
	}
}

func keyAt[K any](keys []K, i int) K {
	if i < len(keys) {
		return keys[i]
	}
	var zero K
	return zero
}

func eventLen(e *Event) int {
	b, err := appendEvent(nil, e)
	if err != nil {
		return MaxBodyBytes
	}
	return len(b)
}

// requestOverhead is the encoded size of r without its events, plus the
// user properties that will join it.
func requestOverhead(r *Request, props map[string]UserProperty) int {
	empty := *r
	empty.Events = nil
	empty.UserProperties = props
	b, _ := appendRequest(nil, &empty)
	return len(b)
}
