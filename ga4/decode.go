package ga4

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrNotJSON is returned by DecodeRequest and ValidateJSON when the body is
// not a JSON object.
var ErrNotJSON = errors.New("request body is not a JSON object")

// DecodeRequest decodes an MP request body, keeping numbers exact
// (json.Number). A body that is valid JSON but has a field of the wrong
// type gives a VALUE_INVALID message naming the field, not an error.
func DecodeRequest(body []byte) (*Request, []Message, error) {
	if !json.Valid(body) || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
		return nil, nil, ErrNotJSON
	}
	var r Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			path := te.Field
			if path == "" {
				path = "body"
			}
			return &r, []Message{{FieldPath: path, Code: CodeValueInvalid,
				Description: fmt.Sprintf("%s must not be a JSON %s.", path, te.Value)}}, nil
		}
		return nil, nil, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	return &r, nil, nil
}

// ValidateJSON validates a raw MP request body the way Google's validation
// server sees it: everything Validate checks, plus a key that appears twice
// in one object (NAME_DUPLICATED; Go's decoder would silently keep the
// last) and the exact body size. It returns ErrNotJSON when the body is not
// a JSON object.
func ValidateJSON(body []byte, now time.Time) ([]Message, error) {
	r, msgs, err := DecodeRequest(body)
	if err != nil {
		return nil, err
	}
	msgs = append(msgs, duplicateKeys(body)...)
	if len(msgs) > 0 && r == nil {
		return msgs, nil
	}
	typeErrs := len(msgs)
	for _, m := range Validate(r, now) {
		if m.FieldPath == "body" && m.Code == CodeValueOutOfBounds {
			continue // reported below from the real size
		}
		if typeErrs > 0 && m.FieldPath == msgs[0].FieldPath {
			continue // the wrong-type message already names this field
		}
		msgs = append(msgs, m)
	}
	if len(body) >= MaxBodyBytes {
		msgs = append(msgs, Message{FieldPath: "body", Code: CodeValueOutOfBounds,
			Description: fmt.Sprintf("The request body is %d bytes; it must be smaller than %d bytes.", len(body), MaxBodyBytes)})
	}
	return msgs, nil
}

// duplicateKeys walks the JSON tokens and reports every key that repeats
// within one object, with its path.
func duplicateKeys(body []byte) []Message {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var msgs []Message
	walkValue(dec, "", &msgs)
	return msgs
}

func walkValue(dec *json.Decoder, path string, msgs *[]Message) {
	tok, err := dec.Token()
	if err != nil {
		return
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return
			}
			k, _ := kt.(string)
			kp := joinPath(path, k)
			if seen[k] {
				*msgs = append(*msgs, Message{FieldPath: kp, Code: CodeNameDuplicated,
					Description: fmt.Sprintf("The name [%s] appears more than once in the same object.", clip(k))})
			}
			seen[k] = true
			walkValue(dec, kp, msgs)
		}
		_, _ = dec.Token()
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			walkValue(dec, path+"["+strconv.Itoa(i)+"]", msgs)
		}
		_, _ = dec.Token()
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// Encode returns r as JSON, the body Send would post.
func Encode(r *Request) ([]byte, error) {
	b, err := appendRequest(make([]byte, 0, 1024), r)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
}
