package outbox

// Log attribute keys, one place.
const (
	logKeyRows      = "rows"
	logKeyLeaseLost = "lease_lost"
	logKeyError     = "err"
	logKeyBackoff   = "retry_in"
	logKeyDeleted   = "deleted"
	logKeyPending   = "pending"
)
