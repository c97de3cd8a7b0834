package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureTolerance is how far a Stripe-Signature timestamp may lie from
// the server's clock (Stripe's own libraries use 5 minutes). It bounds
// replays of a captured webhook.
const SignatureTolerance = 5 * time.Minute

// ErrSignature is returned for every webhook whose Stripe-Signature header
// does not prove it came from Stripe; the wrapped text says which check
// failed (never the secret or the expected signature).
var ErrSignature = errors.New("stripe signature")

// verifySignature checks a Stripe-Signature header ("t=<unix>,v1=<hex>,..."):
// one of its v1 values must be HMAC-SHA256(secret, "<t>.<payload>") and t must
// lie within SignatureTolerance of now. Several v1 values are allowed (Stripe
// sends one per active secret while a secret is being rolled).
func verifySignature(header string, payload []byte, secret string, now time.Time) error {
	ts, sigs, err := parseSignatureHeader(header)
	if err != nil {
		return err
	}
	if d := now.Sub(time.Unix(ts, 0)); d > SignatureTolerance || d < -SignatureTolerance {
		return fmt.Errorf("%w: timestamp %d is outside the %s tolerance", ErrSignature, ts, SignatureTolerance)
	}
	want := computeSignature(ts, payload, secret)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches the payload", ErrSignature)
}

func parseSignatureHeader(header string) (ts int64, v1 []string, err error) {
	if header == "" {
		return 0, nil, fmt.Errorf("%w: header Stripe-Signature is missing", ErrSignature)
	}
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			continue
		case k == "t":
			if ts, err = strconv.ParseInt(v, 10, 64); err != nil {
				return 0, nil, fmt.Errorf("%w: t=%q is not a Unix timestamp", ErrSignature, v)
			}
		case k == "v1":
			v1 = append(v1, v)
		}
	}
	if ts == 0 {
		return 0, nil, fmt.Errorf("%w: header has no t= timestamp", ErrSignature)
	}
	if len(v1) == 0 {
		return 0, nil, fmt.Errorf("%w: header has no v1= signature", ErrSignature)
	}
	return ts, v1, nil
}

func computeSignature(ts int64, payload []byte, secret string) []byte {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(payload)
	return mac.Sum(nil)
}

// SignPayload returns a Stripe-Signature header for payload, as Stripe
// would send it at time at. Tests and the local "simulate a payment" path
// use it.
func SignPayload(payload []byte, secret string, at time.Time) string {
	ts := at.Unix()
	return fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(computeSignature(ts, payload, secret)))
}
