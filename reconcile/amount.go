package reconcile

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
)

// Amount is an exact decimal sum of money in one currency. It is built from
// PostgreSQL numeric text and never goes through float64. The zero value is
// 0.
type Amount struct {
	r     big.Rat
	scale int // digits after the decimal point to print: the largest seen
}

// ParseAmount parses a decimal such as "49.90" or "-3". The empty string is
// zero (SQL NULL).
func ParseAmount(s string) (Amount, error) {
	var a Amount
	if s == "" {
		return a, nil
	}
	if _, ok := a.r.SetString(s); !ok || strings.ContainsAny(s, "eE/") {
		return Amount{}, fmt.Errorf("parse amount %q: not a decimal number", s)
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		a.scale = len(s) - i - 1
	}
	return a, nil
}

// Add returns a + b.
func (a Amount) Add(b Amount) Amount {
	var out Amount
	out.r.Add(&a.r, &b.r)
	out.scale = max(a.scale, b.scale)
	return out
}

// Sub returns a - b.
func (a Amount) Sub(b Amount) Amount {
	var out Amount
	out.r.Sub(&a.r, &b.r)
	out.scale = max(a.scale, b.scale)
	return out
}

// IsZero reports whether a is 0.
func (a Amount) IsZero() bool { return a.r.Sign() == 0 }

// String prints a with as many decimals as the most precise input.
func (a Amount) String() string { return a.r.FloatString(a.scale) }

// MarshalJSON writes the amount as a JSON string ("1234.50"), so no client
// parses money into a float by accident.
func (a Amount) MarshalJSON() ([]byte, error) { return json.Marshal(a.String()) }

// UnmarshalJSON reads the string form written by MarshalJSON.
func (a *Amount) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("amount: %w", err)
	}
	v, err := ParseAmount(s)
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// shareOf is part/whole as a ratio in [0, 1], rounded to 4 decimals, or nil
// when whole is zero (no revenue: no share to speak of).
func shareOf(part, whole Amount) *float64 {
	if whole.r.Sign() == 0 {
		return nil
	}
	q := new(big.Rat).Quo(&part.r, &whole.r)
	q.Mul(q, big.NewRat(10000, 1)).Add(q, big.NewRat(1, 2)) // round half up
	n := new(big.Int).Quo(q.Num(), q.Denom())
	f, _ := new(big.Rat).SetFrac(n, big.NewInt(10000)).Float64()
	return &f
}

// exactScale is the fewest decimals that print a exactly.
func (a Amount) exactScale() int {
	n := 0
	for n < a.scale && !isWhole(&a.r, n) {
		n++
	}
	return n
}

// isWhole reports whether r * 10^scale is a whole number.
func isWhole(r *big.Rat, scale int) bool {
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	return new(big.Rat).Mul(r, new(big.Rat).SetInt(p)).IsInt()
}

// cmp compares a and b: -1, 0 or +1.
func (a Amount) cmp(b Amount) int { return a.r.Cmp(&b.r) }

// grouped prints a with thousands separators: 12,196.15.
func (a Amount) grouped() string {
	s := a.String()
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return sign + b.String()
}
