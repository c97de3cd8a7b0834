package ga4

import "encoding/json"

// encodedLen returns the JSON size of r (MaxBodyBytes when it cannot be
// encoded: such a request can never be sent).
func encodedLen(r *Request) int {
	b, err := appendRequest(nil, r)
	if err != nil {
		return MaxBodyBytes
	}
	return len(b)
}

// upperBound over-estimates the encoded size of r without encoding it:
// every string may grow six-fold when escaped. Validate only encodes when
// this bound reaches the limit.
func upperBound(r *Request) int {
	n := 256 + 6*(len(r.ClientID)+len(r.UserID)+len(r.ValidationBehavior))
	for k, p := range r.UserProperties {
		n += 64 + 6*len(k) + valueBound(p.Value)
	}
	for i := range r.Events {
		n += 64 + 6*len(r.Events[i].Name) + valueBound(r.Events[i].Params)
	}
	return n
}

func valueBound(v any) int {
	switch x := v.(type) {
	case string:
		return 2 + 6*len(x)
	case map[string]any:
		n := 2
		for k, e := range x {
			n += 4 + 6*len(k) + valueBound(e)
		}
		return n
	case []any:
		n := 2
		for _, e := range x {
			n += 1 + valueBound(e)
		}
		return n
	case []map[string]any:
		n := 2
		for _, e := range x {
			n += 1 + valueBound(e)
		}
		return n
	case json.Number:
		return 2 + len(x)
	}
	return 32
}
