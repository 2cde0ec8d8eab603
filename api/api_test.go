package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
)

func TestStatusFitsTheError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"field error", &event.FieldError{Path: "url", Msg: "required"}, 400},
		{"wrapped field error", fmt.Errorf("rule: %w", &event.FieldError{Msg: "x"}), 400},
		{"invalid argument", fmt.Errorf("cursor: %w", queue.ErrInvalid), 400},
		{"not json", fmt.Errorf("%w: unexpected EOF", event.ErrSyntax), 400},
		{"nested too deep", event.ErrTooDeep, 400},
		{"plan", fmt.Errorf("domain hooks: %w", hook.ErrPlan), 403},
		{"another account", gateway.ErrForbidden, 403},
		{"unknown id", fmt.Errorf("hook x: %w", queue.ErrNotFound), 404},
		{"id taken", queue.ErrConflict, 409},
		{"limit", hook.ErrLimit, 409},
		{"read-only", gateway.ErrReadOnly, 409},
		{"closed store", queue.ErrClosed, 503},
		{"explicit", statusErr(http.StatusMethodNotAllowed, "no"), 405},
		{"anything else", errors.New("disk on fire"), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Status(tc.err))
		})
	}
}

func TestMatchTakesOneSegmentPerStar(t *testing.T) {
	for _, tc := range []struct {
		pattern, path string
		args          []string
		ok            bool
	}{
		{"hooks", "hooks", nil, true},
		{"hooks/*", "hooks/crm", []string{"crm"}, true},
		{"hooks/*", "hooks/", nil, false},
		{"hooks/*", "hooks/crm/test", nil, false},
		{"hooks/*/test", "hooks/crm/test", []string{"crm"}, true},
		{"deliveries/*/replay", "deliveries/dlv_1/replay", []string{"dlv_1"}, true},
		{"stats", "statz", nil, false},
	} {
		args, ok := match(tc.pattern, splitPath("/"+tc.path))
		assert.Equal(t, tc.ok, ok, "%s ~ %s", tc.pattern, tc.path)
		assert.Equal(t, tc.args, args, "%s ~ %s", tc.pattern, tc.path)
	}
}

func TestRequestsBeforeTheGatewayStartsAre503(t *testing.T) {
	h := &Handler{Gateway: func() *gateway.Gateway { return nil }}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/hooks", nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code)
	assert.JSONEq(t, `{"error": "hookgate has not started"}`, w.Body.String())

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/nowhere", nil))
	assert.Equal(t, http.StatusNotFound, w.Code, "an unknown path is 404 even then")
}
