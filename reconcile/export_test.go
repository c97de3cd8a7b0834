package reconcile

// ClassifySQL exposes the per-row classification to the cross-check test.
const ClassifySQL = classifySQL

// TrimQuery exposes the orders query clean-up to its test.
var TrimQuery = trimQuery
