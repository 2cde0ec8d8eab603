// Package api is hookgate's management API over HTTP: hooks, deliveries, dry
// runs, presets and stats, as JSON. The same handler serves the operator, on
// Caddy's admin endpoint, and one account, under the dashboard, where it sees
// only that account's hooks and deliveries. It knows nothing of Caddy.
package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/hook"
	"github.com/hookgate/hookgate/queue"
	"github.com/hookgate/hookgate/signer"
)

// maxRequestBody bounds the JSON documents the API reads.
const maxRequestBody = 2 << 20

// Handler serves the API for one caller. Its paths start after the mount
// point: "/hooks", "/deliveries/{id}", ...; the caller strips the prefix.
type Handler struct {
	// Gateway returns the running gateway, or nil before it has started.
	Gateway func() *gateway.Gateway

	// Caller is who the requests come from: the operator or one account.
	Caller gateway.Caller

	// Prefix is where the API is mounted, for the Location of created hooks;
	// e.g. "/hookgate".
	Prefix string
}

// route is one path pattern's handlers by method.
type route struct {
	pattern string // segments; "*" matches one segment
	methods map[string]func(*request) error
}

// request is one API call: the gateway, the caller and the path's ids.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	h    *Handler
	gw   *gateway.Gateway
	args []string
}

// ServeHTTP routes the request and writes JSON, errors as {"error": "..."}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		writeError(w, err)
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) error {
	segs := splitPath(r.URL.Path)
	for _, rt := range routes {
		args, ok := match(rt.pattern, segs)
		if !ok {
			continue
		}
		fn, ok := rt.methods[r.Method]
		if !ok {
			w.Header().Set("Allow", allowed(rt))
			return statusErr(http.StatusMethodNotAllowed, "method %s not allowed on %s",
				r.Method, r.URL.Path)
		}
		gw := h.Gateway()
		if gw == nil {
			return statusErr(http.StatusServiceUnavailable, "hookgate has not started")
		}
		return fn(&request{w: w, r: r, h: h, gw: gw, args: args})
	}
	return statusErr(http.StatusNotFound, "no such path: %s", r.URL.Path)
}

// routes is the API's table of paths.
var routes = []route{
	{"hooks", map[string]func(*request) error{
		http.MethodGet: listHooks, http.MethodPost: createHook}},
	{"hooks/*", map[string]func(*request) error{
		http.MethodGet: getHook, http.MethodPut: replaceHook, http.MethodPatch: updateHook,
		http.MethodDelete: deleteHook}},
	{"hooks/*/rotate-secret", post(rotateSecret)},
	{"hooks/*/enable", post(enableHook)},
	{"hooks/*/disable", post(disableHook)},
	{"hooks/*/test", post(testHook)},
	{"hooks/*/replay", post(replayHook)},
	{"hooks/*/deliveries", map[string]func(*request) error{http.MethodGet: listDeliveries}},
	{"deliveries/*", map[string]func(*request) error{http.MethodGet: getDelivery}},
	{"deliveries/*/replay", post(replayDelivery)},
	{"evaluate", post(evaluate)},
	{"presets", map[string]func(*request) error{http.MethodGet: listPresets}},
	{"stats", map[string]func(*request) error{http.MethodGet: stats}},
}

func post(fn func(*request) error) map[string]func(*request) error {
	return map[string]func(*request) error{http.MethodPost: fn}
}

// splitPath splits a request path into its segments.
func splitPath(path string) []string {
	return strings.Split(strings.Trim(path, "/"), "/")
}

// match matches path segments against a pattern and returns the segments
// that matched "*".
func match(pattern string, segs []string) ([]string, bool) {
	parts := strings.Split(pattern, "/")
	if len(parts) != len(segs) {
		return nil, false
	}
	var args []string
	for i, p := range parts {
		switch {
		case p == "*" && segs[i] != "":
			args = append(args, segs[i])
		case p != segs[i]:
			return nil, false
		}
	}
	return args, true
}

func allowed(rt route) string {
	var ms []string
	for m := range rt.methods {
		ms = append(ms, m)
	}
	return strings.Join(ms, ", ")
}

func listHooks(q *request) error {
	account, domain := q.r.URL.Query().Get("account"), q.r.URL.Query().Get("domain")
	domain = event.NormalizeDomain(domain)
	out := []hookResource{}
	for _, h := range q.gw.HooksOf(q.h.Caller) {
		if (account != "" && h.Account != account) || (domain != "" && h.Domain != domain) {
			continue
		}
		res, err := q.resource(h)
		if err != nil {
			return err
		}
		out = append(out, res)
	}
	return q.json(http.StatusOK, map[string]any{"hooks": out})
}

func createHook(q *request) error {
	doc, err := q.body()
	if err != nil {
		return err
	}
	h, secret, err := q.gw.CreateHook(q.r.Context(), q.h.Caller, doc)
	if err != nil {
		return err
	}
	res, err := q.resource(h)
	if err != nil {
		return err
	}
	res.Secret = secret.Reveal()
	q.w.Header().Set("Location", q.h.Prefix+"/hooks/"+h.ID)
	return q.json(http.StatusCreated, res)
}

func getHook(q *request) error {
	res, err := q.current(q.args[0])
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, res)
}

func replaceHook(q *request) error {
	doc, err := q.body()
	if err != nil {
		return err
	}
	h, err := q.gw.ReplaceHook(q.r.Context(), q.h.Caller, q.args[0], doc)
	if err != nil {
		return err
	}
	return q.hook(http.StatusOK, h)
}

func updateHook(q *request) error {
	patch, err := q.body()
	if err != nil {
		return err
	}
	h, err := q.gw.UpdateHook(q.r.Context(), q.h.Caller, q.args[0], patch)
	if err != nil {
		return err
	}
	return q.hook(http.StatusOK, h)
}

func deleteHook(q *request) error {
	n, err := q.gw.DeleteHook(q.r.Context(), q.h.Caller, q.args[0])
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, map[string]any{"deleted": q.args[0], "failed_deliveries": n})
}

func rotateSecret(q *request) error {
	var in struct {
		Overlap string `json:"overlap"`
		Secret  string `json:"secret"`
	}
	if err := q.decode(&in); err != nil {
		return err
	}
	overlap := 24 * time.Hour
	if in.Overlap != "" {
		d, err := time.ParseDuration(in.Overlap)
		if err != nil || d < 0 {
			return fieldErr("overlap", "%q is not a duration such as 24h", in.Overlap)
		}
		overlap = d
	}
	var next signer.Secret
	if in.Secret != "" {
		var err error
		if next, err = signer.ParseSecret(in.Secret); err != nil {
			return fieldErr("secret", "%v", err)
		}
	}
	secret, err := q.gw.RotateSecret(q.r.Context(), q.h.Caller, q.args[0], next, overlap)
	if err != nil {
		return err
	}
	res, err := q.current(q.args[0])
	if err != nil {
		return err
	}
	res.Secret = secret.Reveal()
	return q.json(http.StatusOK, res)
}

func enableHook(q *request) error {
	var in struct {
		Parked string `json:"parked"`
	}
	if err := q.decode(&in); err != nil {
		return err
	}
	switch in.Parked {
	case "", "deliver", "discard":
	default:
		return fieldErr("parked", `must be "deliver" or "discard", not %q`, in.Parked)
	}
	n, err := q.gw.EnableHook(q.r.Context(), q.h.Caller, q.args[0], in.Parked == "discard")
	if err != nil {
		return err
	}
	res, err := q.current(q.args[0])
	if err != nil {
		return err
	}
	out := struct {
		hookResource
		Released  *int `json:"released,omitempty"`
		Discarded *int `json:"discarded,omitempty"`
	}{hookResource: res}
	if in.Parked == "discard" {
		out.Discarded = &n
	} else {
		out.Released = &n
	}
	return q.json(http.StatusOK, out)
}

func disableHook(q *request) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := q.decode(&in); err != nil {
		return err
	}
	reason := "disabled through the API"
	if in.Reason != "" {
		reason += ": " + in.Reason
	}
	if err := q.gw.DisableHook(q.r.Context(), q.h.Caller, q.args[0], reason); err != nil {
		return err
	}
	res, err := q.current(q.args[0])
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, res)
}

func testHook(q *request) error {
	rec, err := q.gw.SendTest(q.r.Context(), q.h.Caller, q.args[0])
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, newDeliveryResource(rec))
}

func replayHook(q *request) error {
	var in struct {
		Since string `json:"since"`
	}
	if err := q.decode(&in); err != nil {
		return err
	}
	since, err := time.Parse(time.RFC3339, in.Since)
	if err != nil {
		return fieldErr("since", "must be an RFC 3339 time, such as 2024-12-03T00:00:00Z")
	}
	n, err := q.gw.ReplayFailed(q.r.Context(), q.h.Caller, q.args[0], since)
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, map[string]any{"replayed": n})
}

func listDeliveries(q *request) error {
	v := q.r.URL.Query()
	var query queue.Query
	if s := v.Get("status"); s != "" {
		st, err := queue.ParseStatus(s)
		if err != nil {
			return statusErr(http.StatusBadRequest, "status: %q is not pending, delivered, "+
				"failed or parked", s)
		}
		query.Status = st
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return statusErr(http.StatusBadRequest, "limit: %q is not a positive number", s)
		}
		query.Limit = n
	}
	query.Cursor = v.Get("cursor")
	page, err := q.gw.Deliveries(q.r.Context(), q.h.Caller, q.args[0], query)
	if err != nil {
		return err
	}
	out := make([]deliveryResource, len(page.Deliveries))
	for i, d := range page.Deliveries {
		out[i] = newDeliveryResource(d)
	}
	return q.json(http.StatusOK, map[string]any{"deliveries": out,
		"next_cursor": page.NextCursor})
}

func getDelivery(q *request) error {
	rec, err := q.gw.Delivery(q.r.Context(), q.h.Caller, q.args[0])
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, newDeliveryResource(rec))
}

func replayDelivery(q *request) error {
	d, err := q.gw.Replay(q.r.Context(), q.h.Caller, q.args[0])
	if err != nil {
		return err
	}
	rec, err := q.gw.Delivery(q.r.Context(), q.h.Caller, d.ID)
	if err != nil {
		return err
	}
	return q.json(http.StatusAccepted, newDeliveryResource(rec))
}

func listPresets(q *request) error {
	return q.json(http.StatusOK, map[string]any{"presets": hook.Presets()})
}

func stats(q *request) error {
	s, err := q.gw.Stats(q.h.Caller)
	if err != nil {
		return err
	}
	return q.json(http.StatusOK, s)
}

// resource is the hook's resource with its current state.
func (q *request) resource(h *gateway.Hook) (hookResource, error) {
	st, err := q.gw.Store().HookState(h.ID)
	if err != nil {
		return hookResource{}, err
	}
	return newHookResource(h, st), nil
}

// hook answers with the hook's resource.
func (q *request) hook(status int, h *gateway.Hook) error {
	res, err := q.resource(h)
	if err != nil {
		return err
	}
	return q.json(status, res)
}

// current is the resource of hook id as it is now.
func (q *request) current(id string) (hookResource, error) {
	h, err := q.gw.Hook(q.h.Caller, id)
	if err != nil {
		return hookResource{}, err
	}
	return q.resource(h)
}

// body reads the request body, which must be JSON.
func (q *request) body() ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxRequestBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, statusErr(http.StatusRequestEntityTooLarge,
				"body is over the limit of %d bytes", maxRequestBody)
		}
		return nil, statusErr(http.StatusBadRequest, "reading body: %v", err)
	}
	if !json.Valid(b) {
		return nil, statusErr(http.StatusBadRequest, "body is not JSON")
	}
	return b, nil
}

// decode reads an optional JSON object body into v, refusing unknown keys,
// values of the wrong type and data after the object. Its errors name the
// JSON path of what is wrong.
func (q *request) decode(v any) error {
	b, err := io.ReadAll(http.MaxBytesReader(q.w, q.r.Body, maxRequestBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return statusErr(http.StatusRequestEntityTooLarge,
				"body is over the limit of %d bytes", maxRequestBody)
		}
		return statusErr(http.StatusBadRequest, "reading body: %v", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] != '{' {
		if !json.Valid(b) {
			return statusErr(http.StatusBadRequest, "body is not JSON")
		}
		return statusErr(http.StatusBadRequest, "body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return statusErr(http.StatusBadRequest, "body: data after the JSON object")
	}
	return nil
}

// decodeError turns an error of encoding/json into one that names the JSON
// path of the bad value, without Go type names.
func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fieldErr(te.Field, "must be %s, not %s", jsonKind(te.Type.Kind()),
			te.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fieldErr(strings.Trim(name, `"`), "unknown key")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		return statusErr(http.StatusBadRequest, "body is not JSON")
	}
	return statusErr(http.StatusBadRequest, "body: %v", err)
}

// jsonKind names the JSON type that a Go kind decodes from.
func jsonKind(kind reflect.Kind) string {
	switch kind {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "an integer"
}

func (q *request) json(status int, v any) error {
	writeJSON(q.w, status, v)
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := event.Encode(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = event.Encode(map[string]string{"error": "encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// statusError is an error with the status it is answered with.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func statusErr(status int, format string, args ...any) error {
	return &statusError{status: status, msg: fmt.Sprintf(format, args...)}
}

func fieldErr(path, format string, args ...any) error {
	return &event.FieldError{Path: path, Msg: fmt.Sprintf(format, args...)}
}

// Status returns the HTTP status an API error is answered with.
func Status(err error) int {
	var se *statusError
	var fe *event.FieldError
	switch {
	case errors.As(err, &se):
		return se.status
	case errors.As(err, &fe), errors.Is(err, queue.ErrInvalid),
		errors.Is(err, event.ErrSyntax), errors.Is(err, event.ErrTooDeep):
		return http.StatusBadRequest
	case errors.Is(err, hook.ErrPlan), errors.Is(err, gateway.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, queue.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, queue.ErrConflict), errors.Is(err, hook.ErrLimit),
		errors.Is(err, gateway.ErrReadOnly):
		return http.StatusConflict
	case errors.Is(err, queue.ErrClosed):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, Status(err), map[string]string{"error": err.Error()})
}
