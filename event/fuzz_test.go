package event

import (
	"bytes"
	"testing"
)

// FuzzParseNative feeds arbitrary bodies to the native parser: no input may
// panic, and every accepted event's body must parse back to the same body.
func FuzzParseNative(f *testing.F) {
	for _, s := range []string{
		`{"id":"e1","type":"message.opened","domain":"d","heat_score":8}`,
		`[{"id":"e1","type":"job.failed"},{"id":2},null,[]]`,
		`{"id":"e","type":"job.failed","timestamp":"1521472262.908181","x":{"y":[1e3,"\u00e9"]}}`,
		`{"id":"e","type":"job.failed","timestamp":1.7e9,"metadata":{"a":null}}`,
		`[[[[[[]]]]]]`,
		`{"id":"e","type":"intent.hot_lead","domain":"A.B.","is_human":true,"url":"<&>"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ParseNative(body, Defaults{Account: "acme", Environment: "test"})
		if err != nil {
			return
		}
		for _, e := range b.Events {
			again, err := Parse(e.Body(), Defaults{})
			if err != nil {
				t.Fatalf("canonical body does not parse: %v\n%s", err, e.Body())
			}
			if !bytes.Equal(again.Body(), e.Body()) {
				t.Fatalf("canonical body changed on reparse:\n%s\n%s", e.Body(), again.Body())
			}
		}
	})
}
