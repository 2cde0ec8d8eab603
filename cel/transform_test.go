package cel

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTransformYieldsJSONBody(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transform string
		event     string
		want      string
	}{
		{"slack text",
			`{"text": "Hot lead: " + event.recipient + " (heat " + string(event.heat_score) + ")"}`,
			`{"recipient": "jo@acme.example", "heat_score": 8}`,
			`{"text":"Hot lead: jo@acme.example (heat 8)"}`},
		{"fractional number", `{"score": event.confidence}`, `{"confidence": 0.85}`,
			`{"score":0.85}`},
		{"nested map and list", `{"a": {"b": [1, "two", true, null]}, "id": event.id}`, ``,
			`{"a":{"b":[1,"two",true,null]},"id":"evt_1"}`},
		{"whole metadata", `{"meta": event.metadata}`, `{"metadata": {"k": [1.5]}}`,
			`{"meta":{"k":[1.5]}}`},
		{"optional field", `{"to": event.?recipient.orValue("unknown")}`, ``,
			`{"to":"unknown"}`},
		{"strings extension", `{"up": event.type.upperAscii()}`, ``,
			`{"up":"MESSAGE.OPENED"}`},
		{"no HTML escaping", `{"html": "<b>&</b>"}`, ``, `{"html":"<b>&</b>"}`},
		{"timestamp", `{"at": timestamp(event.timestamp)}`,
			`{"timestamp": "2026-12-03T10:00:00+01:00"}`, `{"at":"2026-12-03T09:00:00Z"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := CompileTransform(tc.transform)
			require.NoError(t, err)
			body, err := tr.Apply(NewActivation(mustEvent(t, tc.event)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(body))
		})
	}
}

func TestTransformErrors(t *testing.T) {
	for _, tc := range []struct {
		name, transform, event, compileErr, applyErr string
	}{
		{"syntax", `{"a": }`, ``, "compiling transform: ERROR: <input>:1:7", ""},
		{"not a map", `"text"`, ``, "transform yields string; it must yield a map", ""},
		{"undeclared", `{"a": foo}`, ``, "undeclared reference to 'foo'", ""},
		{"missing field at run time", `{"a": event.recipient}`, ``, "",
			"evaluating transform: no such key: recipient"},
		{"dyn that is not a map", `event.id`, ``, "", "transform yielded string, not a map"},
		{"non-string key", `{1: "a"}`, ``, "", "JSON object keys must be strings"},
		{"too costly", `{"a": [1,2,3,4,5,6,7,8,9,10].map(x, [1,2,3,4,5,6,7,8,9,10].map(y, ` +
			`[1,2,3,4,5,6,7,8,9,10].map(z, [1,2,3,4,5,6,7,8,9,10].map(w, ` +
			`[1,2,3,4,5,6,7,8,9,10].map(u, [1,2,3,4,5,6,7,8,9,10].map(q, x+y+z+w+u+q))))))}`,
			``, "", "operation cancelled: actual cost limit exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := CompileTransform(tc.transform)
			if tc.compileErr != "" {
				assert.ErrorContains(t, err, tc.compileErr)
				return
			}
			require.NoError(t, err)
			_, err = tr.Apply(NewActivation(mustEvent(t, tc.event)))
			assert.ErrorContains(t, err, tc.applyErr)
		})
	}
}
