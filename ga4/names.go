package ga4

import (
	"fmt"
	"strings"
)

// reservedEvents are event names a web stream must not send: the MP
// reference's reserved list plus the app-only names (ad_impression,
// in_app_purchase, screen_view), which are reserved for web streams.
var reservedEvents = setOf(
	"ad_activeview", "ad_click", "ad_exposure", "ad_query", "ad_reward", "adunit_exposure",
	"app_clear_data", "app_exception", "app_install", "app_remove", "app_store_refund",
	"app_update", "app_upgrade", "dynamic_link_app_open", "dynamic_link_app_update",
	"dynamic_link_first_open", "error", "firebase_campaign", "firebase_in_app_message_action",
	"firebase_in_app_message_dismiss", "firebase_in_app_message_impression", "first_open",
	"first_visit", "notification_dismiss", "notification_foreground", "notification_open",
	"notification_receive", "notification_send", "os_update", "session_start", "user_engagement",
	"ad_impression", "in_app_purchase", "screen_view",
)

var reservedParams = setOf("firebase_conversion")

var reservedParamPrefixes = []string{"firebase_", "ga_", "google_", "gtag."}

var reservedUserProps = setOf("first_open_time", "first_visit_time", "last_deep_link_referrer",
	"user_id", "first_open_after_install")

var reservedUserPropPrefixes = []string{"firebase_", "ga_", "google_"}

// standardItemParams are the item parameters Google defines; any other item
// parameter is custom and counts against MaxCustomItemParams.
var standardItemParams = setOf("item_id", "item_name", "affiliation", "coupon", "discount",
	"index", "item_brand", "item_category", "item_category2", "item_category3",
	"item_category4", "item_category5", "item_list_id", "item_list_name", "item_variant",
	"location_id", "price", "quantity", "creative_name", "creative_slot", "promotion_id",
	"promotion_name")

// numericParams must be JSON numbers wherever they appear (event or item).
var numericParams = setOf("value", "tax", "shipping", "price", "quantity", "discount")

// transactionEvents require a non-empty transaction_id.
var transactionEvents = setOf("purchase", "refund")

// iso4217 lists the active ISO 4217 currency codes.
var iso4217 = setOf(strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD
	BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC
	CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL
	HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP
	LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK
	NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
	SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU
	UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL`)...)

func setOf(names ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(names))
	for _, n := range names {
		m[n] = struct{}{}
	}
	return m
}

func in(set map[string]struct{}, s string) bool {
	_, ok := set[s]
	return ok
}

// nameSyntax returns why name breaks the naming rule (ASCII letters, digits
// and underscores, starting with a letter, at most max characters), or "".
// Only ASCII letters count as letters: the safe reading of "alphabetic".
func nameSyntax(name string, max int) string {
	switch {
	case name == "":
		return "Names must not be empty."
	case len(name) > max:
		return fmt.Sprintf("Names must be at most %d characters long.", max)
	case !isLetter(name[0]):
		return "Names must start with an alphabetic character."
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isLetter(c) && !isDigit(c) && c != '_' {
			return "Names may contain only letters, digits and underscores."
		}
	}
	return ""
}

func reservedPrefix(name string, prefixes []string) string {
	for _, p := range prefixes {
		if strings.HasPrefix(name, p) {
			return p
		}
	}
	return ""
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
