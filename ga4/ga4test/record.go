package ga4test

import (
	"time"

	"github.com/ga4-outbox/ga4-outbox/ga4"
)

// Event is one event the emulator received on /mp/collect.
type Event struct {
	Seq           int64        `json:"seq"`
	RequestID     int64        `json:"request_id"`
	ReceivedAt    time.Time    `json:"received_at"`
	MeasurementID string       `json:"measurement_id"`
	ClientID      string       `json:"client_id"`
	UserID        string       `json:"user_id,omitempty"`
	Consent       *ga4.Consent `json:"consent,omitempty"`
	Name          string       `json:"name"`
	// TimestampMicros is the event's own timestamp, else the request's, else 0.
	TimestampMicros int64          `json:"timestamp_micros,omitempty"`
	Params          map[string]any `json:"params,omitempty"`
	TransactionID   string         `json:"transaction_id,omitempty"`
	// Duplicate is true when an accepted event with the same transaction_id
	// arrived before.
	Duplicate bool `json:"duplicate,omitempty"`
	// Dropped is true when Google would have discarded the event (wrong
	// api_secret, unknown measurement id); DropReason says why.
	Dropped    bool   `json:"dropped,omitempty"`
	DropReason string `json:"drop_reason,omitempty"`
	// Problems are the validation messages of the whole request (Google
	// accepts such events silently, altered or not).
	Problems []ga4.Message `json:"problems,omitempty"`
}

// RequestLog is one HTTP request the emulator answered.
type RequestLog struct {
	ID            int64     `json:"id"`
	ReceivedAt    time.Time `json:"received_at"`
	Path          string    `json:"path"`
	Proto         string    `json:"proto"` // HTTP/1.1 or HTTP/2.0
	MeasurementID string    `json:"measurement_id,omitempty"`
	Status        int       `json:"status"` // 0 for a dropped request
	Fault         string    `json:"fault,omitempty"`
	Events        int       `json:"events"`
	Bytes         int       `json:"bytes"`
}

// Stats counts what the emulator saw since it started or was Reset.
type Stats struct {
	Requests      int `json:"requests"`
	DebugRequests int `json:"debug_requests"`
	Accepted      int `json:"accepted_events"`
	Dropped       int `json:"dropped_events"`
	// Duplicates counts accepted events whose transaction_id was seen before.
	Duplicates int `json:"duplicate_transaction_ids"`
	// WithProblems counts accepted events whose request had validation
	// messages.
	WithProblems int `json:"events_with_problems"`
	Faults5xx    int `json:"faults_5xx"`
	Faults429    int `json:"faults_429"`
	FaultsDrop   int `json:"faults_drop"`
	FaultsGoAway int `json:"faults_goaway"`
	// ReportRequests counts Data API requests (runReport,
	// checkCompatibility), ReportFaults429 those answered 429 by
	// Faults.ReportNext429.
	ReportRequests  int `json:"report_requests"`
	ReportFaults429 int `json:"report_faults_429"`
}
