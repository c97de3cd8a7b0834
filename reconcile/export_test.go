package reconcile

// ClassifySQL exposes the per-row classification to the cross-check test.
const ClassifySQL = classifySQL
