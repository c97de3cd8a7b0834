package reconcile

import "strings"

// NoCurrency is the currency of conversions whose currency is NULL or
// empty (a lead without a value, or a defect): they are summed apart, never
// with a currency's revenue.
const NoCurrency = "(none)"

// currencyKey is the currency a row is grouped under: upper case, as the
// sender sends it (eur and EUR are one currency), NoCurrency for none.
func currencyKey(c *string) string {
	if c == nil || strings.TrimSpace(*c) == "" {
		return NoCurrency
	}
	return strings.ToUpper(strings.TrimSpace(*c))
}

// minorUnits are the ISO 4217 currencies whose minor unit is not 2
// decimals; every other currency (and NoCurrency) prints 2.
var minorUnits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// decimals returns the number of decimals amounts in currency print with.
func decimals(currency string) int {
	if d, ok := minorUnits[currency]; ok {
		return d
	}
	return 2
}
