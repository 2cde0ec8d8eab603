package queue

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Status is the state of a delivery.
type Status uint8

// Delivery states. A pending delivery is on the schedule (perhaps in flight); a
// parked one waits for its hook to be enabled again; delivered and failed are
// final until a replay, and expire after the retention period.
const (
	StatusPending Status = iota + 1
	StatusParked
	StatusDelivered
	StatusFailed
)

var statusNames = [...]string{
	StatusPending:   "pending",
	StatusParked:    "parked",
	StatusDelivered: "delivered",
	StatusFailed:    "failed",
}

// allStatuses lists the states in index order.
var allStatuses = [...]Status{StatusPending, StatusParked, StatusDelivered, StatusFailed}

// String returns the status as the admin API spells it.
func (s Status) String() string {
	if s.valid() {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

func (s Status) valid() bool { return s >= StatusPending && s <= StatusFailed }

func (s Status) finished() bool { return s == StatusDelivered || s == StatusFailed }

// ParseStatus reads a status as the admin API spells it.
func ParseStatus(s string) (Status, error) {
	for _, st := range allStatuses {
		if statusNames[st] == s {
			return st, nil
		}
	}
	return 0, fmt.Errorf("status %q: want pending, parked, delivered or failed: %w", s, ErrInvalid)
}

// MarshalText writes the status name.
func (s Status) MarshalText() ([]byte, error) {
	if !s.valid() {
		return nil, fmt.Errorf("marshaling %v: %w", s, ErrInvalid)
	}
	return []byte(statusNames[s]), nil
}

// UnmarshalText reads a status name.
func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Item is one accepted event for Enqueue: its dedupe key and one delivery per
// matching hook.
type Item struct {
	// DedupeKey identifies the event within the dedupe window, e.g. account and
	// event id. An item whose key was seen is a duplicate and stores nothing.
	// Empty means no dedupe check.
	DedupeKey string
	// EventID, EventType and Account describe the event; they are copied to each
	// delivery.
	EventID   string
	EventType string
	Account   string
	// Deliveries holds one entry per matching hook. An item without deliveries
	// still records its dedupe key.
	Deliveries []NewDelivery
}

// NewDelivery is a delivery to create: for which hook and rule, with which body.
type NewDelivery struct {
	HookID      string
	HookVersion uint64
	// Expression is the compiled CEL expression that matched.
	Expression string
	// Body holds the exact bytes to send on every attempt.
	Body []byte
}

// ItemResult tells what Enqueue did with one item.
type ItemResult struct {
	// Duplicate is true when the dedupe key was seen within the window.
	Duplicate bool
	// DeliveryIDs holds the ids of the created deliveries, in the order of
	// Item.Deliveries; empty for a duplicate.
	DeliveryIDs []string
	// Parked counts the deliveries created parked because their hook is.
	Parked int
}

// Delivery is one event to send to one hook, with its current state. Request
// details (URL, method, headers, secret) are not part of it: the dispatcher reads
// them from the hook at the time of each attempt.
type Delivery struct {
	// ID is "dlv_" and 26 base32 characters; stable across retries and replays.
	ID          string
	HookID      string
	HookVersion uint64
	Expression  string
	EventID     string
	EventType   string
	Account     string
	CreatedAt   time.Time
	Status      Status
	// Attempts counts the attempts made so far; the next one is Attempts+1.
	Attempts int
	// DueAt is when a pending delivery is due; zero in other states.
	DueAt time.Time
	// FinishedAt is when the delivery became delivered or failed.
	FinishedAt time.Time
	// ExpiresAt is when a finished delivery and its attempts expire.
	ExpiresAt time.Time
	// LastError is the error of the last failed attempt, or why the delivery was
	// failed without one (discarded, hook deleted).
	LastError string
	// Body holds the exact bytes to send.
	Body []byte
}

// Attempt is the audit record of one HTTP attempt of a delivery.
type Attempt struct {
	// Number counts from 1; the store assigns it.
	Number int
	At     time.Time
	// StatusCode is the response status, 0 when there was no response.
	StatusCode int
	Latency    time.Duration
	Error      string
	Request    Request
	Response   Response
	// NextRetryAt is when the next attempt is due, zero when there is none.
	NextRetryAt time.Time
	// HookVersion and Expression describe the hook as it was for this attempt;
	// left zero they are taken from the delivery.
	HookVersion uint64
	Expression  string
}

// Request is what an attempt sent. Headers must not carry secrets.
type Request struct {
	URL    string
	Method string
	Header http.Header
	Body   []byte
}

// Response is what an attempt received. The store keeps the first
// MaxResponseBody bytes of the body.
type Response struct {
	Header http.Header
	Body   []byte
}

// MaxResponseBody is how much of a response body an attempt record keeps.
const MaxResponseBody = 64 << 10

// DeliveryRecord is a delivery with its attempts, oldest first.
type DeliveryRecord struct {
	Delivery
	AttemptLog []Attempt
}

// Lease hands a due delivery to one dispatcher worker until Deadline. The
// delivery stays on the durable schedule until its outcome is recorded, so a
// crash makes it due again; an unrecorded lease past its deadline does too.
type Lease struct {
	Delivery Delivery
	// Token identifies this lease among leases of the same delivery.
	Token    uint64
	Deadline time.Time
}

// Outcome is how an attempt ended for the delivery.
type Outcome uint8

// Outcomes of an attempt.
const (
	// Delivered: the endpoint accepted the delivery.
	Delivered Outcome = iota + 1
	// Retry: the attempt failed; try again at Report.RetryAt.
	Retry
	// Failed: the attempt failed and the retry schedule is exhausted.
	Failed
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("outcome(%d)", uint8(o))
}

// Report is what the dispatcher records after an attempt.
type Report struct {
	Outcome Outcome
	// RetryAt is when the next attempt is due; required for Retry.
	RetryAt time.Time
	Attempt Attempt
}

// Recorded is the result of recording an attempt.
type Recorded struct {
	// Attempt is the number given to the attempt.
	Attempt int
	// Status is the delivery's state afterwards.
	Status Status
	// Failures is the hook's count of consecutive failed attempts afterwards, for
	// auto-disabling at disable_after.
	Failures int
}

// Hook is a hook persisted through the admin API, with its run-time state.
type Hook struct {
	ID string
	// Version counts writes of the document, from 1; updates must name it.
	Version uint64
	// Document is the hook as the caller defines it; the store does not read it.
	Document  json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
	State     HookState
}

// HookState is the run-time state of a hook id, whether or not the hook is
// persisted (hooks from the Caddyfile are not).
type HookState struct {
	// Enabled is false while the hook is parked.
	Enabled        bool
	DisabledReason string
	DisabledAt     time.Time
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int
	// Pending counts scheduled deliveries, in flight ones included.
	Pending int
	// Parked counts deliveries waiting for the hook to be enabled.
	Parked int
}

// Query selects a page of a hook's deliveries, newest first.
type Query struct {
	// Status keeps only deliveries in this state; zero keeps all.
	Status Status
	// Limit caps the page size; zero or less means DefaultPageSize, and more than
	// MaxPageSize means MaxPageSize.
	Limit int
	// Cursor continues after a previous page's NextCursor.
	Cursor string
}

// Page sizes for Deliveries.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// Page is one page of deliveries. NextCursor is empty on the last page.
type Page struct {
	Deliveries []DeliveryRecord
	NextCursor string
}

// Stats counts deliveries by state. Finished deliveries are counted until they
// expire.
type Stats struct {
	// Pending is the queue depth: deliveries on the schedule, in flight included.
	Pending   int
	InFlight  int
	Parked    int
	Delivered int
	Failed    int
}

// Readiness tells the dispatcher where work is.
type Readiness struct {
	// Hooks have deliveries due now, earliest due first.
	Hooks []string
	// Next is the earliest time another hook's work becomes due; zero if none is
	// scheduled.
	Next time.Time
	// Changed is closed when work is added that may be due before Next; call
	// Ready again then.
	Changed <-chan struct{}
}
