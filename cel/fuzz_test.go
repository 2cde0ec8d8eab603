package cel

import (
	"testing"

	"github.com/google/cel-go/common/types"

	"github.com/hookgate/hookgate/event"
)

// FuzzRule parses a condition tree and an event from arbitrary bytes. A tree
// that validates must compile; for every valid event its program must run
// without error, give the same result again from the lookups the activation
// caches for later rules, agree with the plain Go evaluator, with the same
// expression compiled whole on cel-go's general nodes alone, and with
// Explain.
func FuzzRule(f *testing.F) {
	seeds := []struct{ tree, event string }{
		{`{"operator":"AND","rules":[{"field":"heat_score","op":"gt","value":5},` +
			`{"field":"intent_category","op":"eq","value":"PURCHASE_INTENT"},` +
			`{"field":"is_human","op":"eq","value":true}]}`,
			`{"id":"e","type":"intent.hot_lead","domain":"d","heat_score":8,` +
				`"intent_category":"PURCHASE_INTENT","is_human":true}`},
		{leaf("x", "contains", "a"), `{"id":"e","type":"job.failed","x":["a",1]}`},
		{leaf("x.y.z", "neq", 1), `{"id":"e","type":"job.failed","x":{"y":[]}}`},
		{leaf("timestamp", "gte", "2026-01-01T00:00:00+01:00"),
			`{"id":"e","type":"job.failed","timestamp":1767222000}`},
		{leaf("smtp-id", "matches", "^<.*>$"), `{"id":"e","type":"job.failed","smtp-id":"<a>"}`},
		{`{"operator":"not","rules":[{"field":"x","op":"nin","value":[1,"1",true]}]}`,
			`{"id":"e","type":"job.failed","x":null}`},
		{leaf("metadata.a b", "starts_with", `"`), `{"id":"e","type":"job.failed",` +
			`"metadata":{"a b":"\"x"}}`},
		{leaf("data.kind.code", "in", []any{"a", 1, false}), `{"id":"e","type":"job.failed",` +
			`"data":{"kind":{"code":1}}}`},
		{`{"operator":"or","rules":[` + leaf("metadata.crm.stage", "neq", "won") + `,` +
			leaf("dwell_seconds", "lte", 30) + `]}`, `{"id":"e","type":"message.opened",` +
			`"metadata":{"crm":[]},"dwell_seconds":30}`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.tree), []byte(s.event))
	}
	f.Fuzz(func(t *testing.T, treeJSON, eventJSON []byte) {
		v, err := event.Decode(treeJSON)
		if err != nil {
			return
		}
		c, err := ParseConditions(v, "conditions")
		if err != nil {
			return
		}
		r, err := Compile(c)
		if err != nil {
			if len(Source(c)) <= MaxSourceSize {
				t.Fatalf("valid tree does not compile: %v\n%s", err, treeJSON)
			}
			return
		}
		e, err := event.Parse(eventJSON, event.Defaults{})
		if err != nil {
			return
		}
		a := NewActivation(e)
		got, err := r.Match(a)
		if err != nil {
			t.Fatalf("evaluation error: %v", err)
		}
		if again, err := r.Match(a); err != nil || again != got {
			t.Fatalf("second rule of the activation says %v (%v), first %v", again, err, got)
		}
		if want := baseline(t, r).Eval(e.Fields()); got != want {
			t.Fatalf("CEL says %v, Go evaluator %v\nexpression: %s\nevent: %s",
				got, want, r.Expression(), e.Body())
		}
		general, err := plan(r.Expression(), false)
		if err != nil {
			t.Fatalf("expression does not compile without fused nodes: %v", err)
		}
		if want, _, _ := general.Eval(&NewActivation(e).frame); want != types.Bool(got) {
			t.Fatalf("fused nodes say %v, general nodes %v\nexpression: %s\nevent: %s",
				got, want, r.Expression(), e.Body())
		}
		tr, err := r.Explain(a)
		if err != nil {
			t.Fatalf("explain error: %v", err)
		}
		if tr.Result != got {
			t.Fatalf("explain says %v, match %v", tr.Result, got)
		}
		r.Mismatches(a)
	})
}

// FuzzTransform compiles arbitrary transforms and applies those that
// compile: no input may panic.
func FuzzTransform(f *testing.F) {
	f.Add(`{"text": "Hot lead: " + event.recipient}`)
	f.Add(`{"a": [1, 2.5, "x", null, {"b": true}]}`)
	f.Add(`event`)
	f.Add(`{"m": event.metadata}`)
	ev, err := event.Parse([]byte(`{"id":"e","type":"intent.hot_lead","domain":"d",`+
		`"recipient":"jo@x","metadata":{"k":[1,{"z":null}]},"heat_score":8}`), event.Defaults{})
	if err != nil {
		f.Fatal(err)
	}
	a := NewActivation(ev)
	f.Fuzz(func(t *testing.T, src string) {
		tr, err := CompileTransform(src)
		if err != nil {
			return
		}
		_, _ = tr.Apply(a)
	})
}
