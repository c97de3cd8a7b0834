// Package reconcile is the attribution audit: it classifies every conversion
// in a window of business time, sums revenue per currency and per bucket, and
// renders the report as a table, Markdown, CSV, JSON or HTML.
package reconcile
