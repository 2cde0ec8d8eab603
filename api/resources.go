package api

import (
	"encoding/base64"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
)

// hookResource is a hook as the API shows it: the document plus its state.
type hookResource struct {
	*hook.Hook

	Enabled             bool      `json:"enabled"`
	DisabledReason      string    `json:"disabled_reason"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	Version             int64     `json:"version"`
	Expression          string    `json:"expression"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`

	// ReadOnly marks a hook declared in the configuration.
	ReadOnly bool `json:"read_only"`
	// Pending and Parked count the hook's waiting deliveries.
	Pending int `json:"pending"`
	Parked  int `json:"parked"`

	// Secret is set only in the answers to create and rotate-secret.
	Secret string `json:"secret,omitempty"`
}

func newHookResource(h *gateway.Hook, st queue.HookState) hookResource {
	doc := *h.Hook
	doc.Secret, doc.Enabled = "", nil
	return hookResource{
		Hook:                &doc,
		Enabled:             st.Enabled,
		DisabledReason:      st.DisabledReason,
		ConsecutiveFailures: st.ConsecutiveFailures,
		Version:             h.Version,
		Expression:          h.Rule.Expression(),
		CreatedAt:           h.CreatedAt.UTC(),
		UpdatedAt:           h.UpdatedAt.UTC(),
		ReadOnly:            h.Static,
		Pending:             st.Pending,
		Parked:              st.Parked,
	}
}

// deliveryResource is a delivery with its attempts, oldest first.
type deliveryResource struct {
	ID         string            `json:"id"`
	HookID     string            `json:"hook_id"`
	EventID    string            `json:"event_id"`
	EventType  string            `json:"event_type"`
	Account    string            `json:"account,omitempty"`
	Status     string            `json:"status"`
	CreatedAt  time.Time         `json:"created_at"`
	DueAt      *time.Time        `json:"due_at,omitempty"`
	FinishedAt *time.Time        `json:"finished_at,omitempty"`
	LastError  string            `json:"last_error,omitempty"`
	Attempts   []attemptResource `json:"attempts"`
}

type attemptResource struct {
	Attempt     int             `json:"attempt"`
	At          time.Time       `json:"at"`
	StatusCode  int             `json:"status_code"`
	LatencyMS   float64         `json:"latency_ms"`
	Error       string          `json:"error"`
	Request     requestResource `json:"request"`
	Response    bodyResource    `json:"response"`
	NextRetryAt *time.Time      `json:"next_retry_at"`
	HookVersion uint64          `json:"hook_version"`
	Expression  string          `json:"expression"`
}

type requestResource struct {
	URL    string `json:"url"`
	Method string `json:"method"`
	bodyResource
}

// bodyResource is a message's headers and body; a body that is not UTF-8
// text is given in base64 instead.
type bodyResource struct {
	Headers    http.Header `json:"headers"`
	Body       string      `json:"body"`
	BodyBase64 string      `json:"body_base64,omitempty"`
}

func newBody(h http.Header, body []byte) bodyResource {
	if h == nil {
		h = http.Header{}
	}
	if utf8.Valid(body) {
		return bodyResource{Headers: h, Body: string(body)}
	}
	return bodyResource{Headers: h, BodyBase64: base64.StdEncoding.EncodeToString(body)}
}

func newDeliveryResource(r queue.DeliveryRecord) deliveryResource {
	out := deliveryResource{
		ID:         r.ID,
		HookID:     r.HookID,
		EventID:    r.EventID,
		EventType:  r.EventType,
		Account:    r.Account,
		Status:     r.Status.String(),
		CreatedAt:  r.CreatedAt.UTC(),
		DueAt:      optionalTime(r.DueAt),
		FinishedAt: optionalTime(r.FinishedAt),
		LastError:  r.LastError,
		Attempts:   make([]attemptResource, len(r.AttemptLog)),
	}
	for i, a := range r.AttemptLog {
		out.Attempts[i] = attemptResource{
			Attempt:    a.Number,
			At:         a.At.UTC(),
			StatusCode: a.StatusCode,
			LatencyMS:  float64(a.Latency.Microseconds()) / 1000,
			Error:      a.Error,
			Request: requestResource{URL: a.Request.URL, Method: a.Request.Method,
				bodyResource: newBody(a.Request.Header, a.Request.Body)},
			Response:    newBody(a.Response.Header, a.Response.Body),
			NextRetryAt: optionalTime(a.NextRetryAt),
			HookVersion: a.HookVersion,
			Expression:  a.Expression,
		}
	}
	return out
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
