package ga4

import (
	"fmt"
	"strings"
)

// Validation codes, the same as Google's validation server.
const (
	CodeValueInvalid        = "VALUE_INVALID"
	CodeValueRequired       = "VALUE_REQUIRED"
	CodeNameInvalid         = "NAME_INVALID"
	CodeNameReserved        = "NAME_RESERVED"
	CodeValueOutOfBounds    = "VALUE_OUT_OF_BOUNDS"
	CodeExceededMaxEntities = "EXCEEDED_MAX_ENTITIES"
	CodeNameDuplicated      = "NAME_DUPLICATED"
)

// Message is one validation problem, shaped like the validation server's
// validationMessages entries.
type Message struct {
	FieldPath   string `json:"fieldPath"`
	Description string `json:"description"`
	Code        string `json:"validationCode"`
}

// String prints the message as "CODE fieldPath: description".
func (m Message) String() string {
	return m.Code + " " + m.FieldPath + ": " + m.Description
}

// ValidationError is a request that failed validation, locally or at the
// debug endpoint.
type ValidationError struct{ Messages []Message }

// Error lists every message, separated by "; ".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Messages))
	for i, m := range e.Messages {
		parts[i] = m.String()
	}
	noun := "problems"
	if len(e.Messages) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("invalid measurement protocol request (%d %s): %s", len(e.Messages), noun, strings.Join(parts, "; "))
}
