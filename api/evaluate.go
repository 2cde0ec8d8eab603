package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/gateway"
	"github.com/hookgate/hookgate/hook"
)

// evaluateRequest is the body of POST /evaluate: a rule (a hook document,
// whose url may be absent) or a saved hook, tried on one event or on the
// most recent ones received.
type evaluateRequest struct {
	Rule    json.RawMessage `json:"rule"`
	HookID  string          `json:"hook_id"`
	Event   json.RawMessage `json:"event"`
	Explain bool            `json:"explain"`
	// Recent asks for a dry run over that many of the latest events.
	Recent int `json:"recent"`
}

// maxRecent bounds a dry run over recent events.
const maxRecent = 10000

func evaluate(q *request) error {
	var in evaluateRequest
	if err := q.decode(&in); err != nil {
		return err
	}
	c, err := q.rule(in)
	if err != nil {
		return err
	}
	switch {
	case len(in.Event) > 0 && in.Recent != 0:
		return statusErr(http.StatusBadRequest, "give event or recent, not both")
	case len(in.Event) > 0:
		e, err := event.Parse(in.Event, event.Defaults{Account: q.h.Caller.Account})
		if err != nil {
			return prefixed("event", invalid(err))
		}
		dr, err := hook.Evaluate(c, e, in.Explain)
		if err != nil {
			return err
		}
		return q.json(http.StatusOK, dr)
	case in.Recent < 0 || in.Recent > maxRecent:
		return fieldErr("recent", "must be 1 to %d", maxRecent)
	case in.Recent == 0:
		return statusErr(http.StatusBadRequest, "give an event, or recent: N to try the "+
			"latest N events received")
	}
	tried, err := q.gw.TryRecent(q.h.Caller, c, in.Recent)
	if err != nil {
		return err
	}
	matched := 0
	for _, t := range tried {
		if t.Matched {
			matched++
		}
	}
	return q.json(http.StatusOK, map[string]any{
		"expression": c.Rule.Expression(), "evaluated": len(tried), "matched": matched,
		"events": tried,
	})
}

// rule compiles the request's rule or loads its saved hook.
func (q *request) rule(in evaluateRequest) (*hook.Compiled, error) {
	switch {
	case len(in.Rule) > 0 && in.HookID != "":
		return nil, statusErr(http.StatusBadRequest, "give rule or hook_id, not both")
	case in.HookID != "":
		h, err := q.gw.Hook(q.h.Caller, in.HookID)
		if err != nil {
			return nil, err
		}
		return h.Compiled, nil
	case len(in.Rule) == 0:
		return nil, statusErr(http.StatusBadRequest, "give a rule (a hook document) or hook_id")
	}
	c, err := gateway.Draft(q.h.Caller, in.Rule)
	if err != nil {
		return nil, prefixed("rule", err)
	}
	return c, nil
}

// invalid makes any error of parsing a document a field error: the document
// is what is wrong, whatever the error says.
func invalid(err error) error {
	var fe *event.FieldError
	if errors.As(err, &fe) {
		return err
	}
	return &event.FieldError{Msg: err.Error()}
}

// prefixed puts a document's name before the JSON path of its field error,
// so "conditions.rules[0].value" reads "rule.conditions.rules[0].value".
func prefixed(doc string, err error) error {
	fe, ok := err.(*event.FieldError)
	if !ok {
		return err
	}
	path := doc
	if fe.Path != "" {
		path += "." + fe.Path
	}
	return &event.FieldError{Path: path, Msg: fe.Msg}
}
