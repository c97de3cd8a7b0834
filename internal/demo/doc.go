// Package demo generates the "realistic day of orders" that the demo command
// enqueues, and knows in advance what the attribution report must say about
// it: per currency and bucket, the number of conversions and their revenue.
//
// Generation is deterministic: a seeded generator and a given end time. The
// scenario mixes the code paths that lose attribution in real shops:
//
//	web_checkout     the browser's ids and the checkout click time: attributable
//	                 (a share with analytics consent denied; a few rows with an
//	                 invalid parameter name, skipped as invalid)
//	payment_webhook  a webhook that fires minutes to hours later with the ids
//	                 stored at checkout; a share lost the session_id on the way,
//	                 a share arrives more than 24 h after the session started
//	mobile_app       a native app path that has no GA client_id
//	bank_transfer    settled more than 72 h after the checkout: expired
package demo
