package poller

// Log attribute keys, one place.
const (
	logKeyRows      = "rows"
	logKeyLeaseLost = "lease_lost"
	logKeyError     = "err"
	logKeyBackoff   = "retry_in"
	logKeyDeleted   = "deleted"
	logKeyPending   = "pending"

	logKeyOutcomes         = "outcomes"
	logKeyFirstError       = "first_err"
	logKeyBatchesNotLogged = "batches_not_logged"
)
