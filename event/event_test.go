package event

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseNativeSingleAndBatch(t *testing.T) {
	b, err := ParseNative(
		[]byte(`{"id":"e1","type":"message.opened","domain":"Mail.Acme.Example."}`), Defaults{})
	require.NoError(t, err)
	assert.False(t, b.Array)
	require.Len(t, b.Events, 1)
	assert.Equal(t, "mail.acme.example", b.Events[0].Domain)

	b, err = ParseNative([]byte(`[
		{"id":"e1","type":"message.opened","domain":"d"},
		{"id":"e2","type":"message.opend","domain":"d"},
		7,
		{"id":"e4","type":"job.completed"}
	]`), Defaults{})
	require.NoError(t, err)
	assert.True(t, b.Array)
	require.Len(t, b.Events, 2)
	assert.Equal(t, "e1", b.Events[0].ID)
	assert.Equal(t, "e4", b.Events[1].ID)
	require.Len(t, b.Rejected, 2)
	assert.Equal(t, 1, b.Rejected[0].Index)
	assert.EqualError(t, b.Rejected[0].Err, `type: unknown event type "message.opend"`)
	assert.Equal(t, 2, b.Rejected[1].Index)
	assert.EqualError(t, b.Rejected[1].Err, "event must be an object, not a number")
}

func TestParseNativeRefusesBadBodies(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		is   error
		msg  string
	}{
		{"not JSON", `{"id":`, ErrSyntax, ""},
		{"trailing data", `{"id":"a"} {}`, ErrSyntax, ""},
		{"two values", `[] []`, ErrSyntax, ""},
		{"empty", ``, ErrSyntax, ""},
		{"too deep", strings.Repeat("[", 65) + strings.Repeat("]", 65), ErrTooDeep, ""},
		{"scalar", `"event"`, nil,
			"body must be an event object or an array of them, not a string"},
		{"null", `null`, nil, "not null"},
		{"too many", "[" + strings.TrimSuffix(strings.Repeat("{},", MaxBatch+1), ",") + "]", nil,
			"batch has 10001 events, over the limit of 10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseNative([]byte(tc.body), Defaults{})
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestDepthLimitCountsBracketsOutsideStrings(t *testing.T) {
	ok := `{"id":"e","type":"job.failed","x":"` + strings.Repeat("[{", 100) + `\"]"}`
	_, err := ParseNative([]byte(ok), Defaults{})
	assert.NoError(t, err)

	nested := `{"id":"e","type":"job.failed","x":` + strings.Repeat("[", 63) +
		strings.Repeat("]", 63) + `}`
	_, err = ParseNative([]byte(nested), Defaults{})
	assert.NoError(t, err, "64 levels are allowed")

	_, err = ParseNative([]byte("["+nested+"]"), Defaults{})
	assert.ErrorIs(t, err, ErrTooDeep)
}

func TestEventValidationNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		err  string
	}{
		{"missing id", `{"type":"job.failed"}`, "id: required"},
		{"numeric id", `{"id":5,"type":"job.failed"}`, "id: must be a string, not a number"},
		{"empty id", `{"id":"","type":"job.failed"}`, "id: must not be empty"},
		{"long id", `{"id":"` + strings.Repeat("x", 513) + `","type":"job.failed"}`,
			"id: is 513 bytes, over the limit of 512"},
		{"missing type", `{"id":"e"}`, "type: required"},
		{"unknown type", `{"id":"e","type":"message.opend"}`,
			`type: unknown event type "message.opend"`},
		{"wildcard type", `{"id":"e","type":"message.*"}`, `type: unknown event type "message.*"`},
		{"domain required", `{"id":"e","type":"message.bounced"}`,
			"domain: required for message.bounced events"},
		{"empty domain", `{"id":"e","type":"intent.hot_lead","domain":""}`,
			"domain: required for intent.hot_lead events"},
		{"domain with two trailing dots", `{"id":"e","type":"intent.hot_lead","domain":"a.b.."}`,
			`domain: "a.b.." is not a domain name: it ends with more than one dot`},
		{"number as string", `{"id":"e","type":"job.failed","heat_score":"8"}`,
			"heat_score: must be a number, not a string"},
		{"null known field", `{"id":"e","type":"job.failed","recipient":null}`,
			"recipient: must be a string, not null"},
		{"bool as string", `{"id":"e","type":"job.failed","is_human":"true"}`,
			"is_human: must be a boolean, not a string"},
		{"metadata scalar", `{"id":"e","type":"job.failed","metadata":"x"}`,
			"metadata: must be an object, not a string"},
		{"bad timestamp", `{"id":"e","type":"job.failed","timestamp":"yesterday"}`,
			`timestamp: not RFC 3339 or unix seconds: "yesterday"`},
		{"bad RFC 3339", `{"id":"e","type":"job.failed","timestamp":"2026-13-01T00:00:00Z"}`,
			`timestamp: not RFC 3339 or unix seconds: "2026-13-01T00:00:00Z"`},
		{"milliseconds", `{"id":"e","type":"job.failed","timestamp":1733230000000}`,
			"timestamp: 56893-11-14T09:46:40Z is out of range"},
		{"negative", `{"id":"e","type":"job.failed","timestamp":-1}`, "out of range"},
		{"timestamp bool", `{"id":"e","type":"job.failed","timestamp":true}`,
			"timestamp: must be an RFC 3339 string or unix seconds, not a boolean"},
		{"huge number", `{"id":"e","type":"job.failed","x":{"y":[1e999]}}`,
			"x.y[0]: number 1e999 is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body), Defaults{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.err)
			var fe *FieldError
			if !strings.Contains(tc.name, "huge") {
				assert.True(t, errors.As(err, &fe))
			}
		})
	}
}

func TestTimestampsAreNormalizedToUTC(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"RFC 3339 with offset", `"2026-12-03T10:00:00+02:00"`, "2026-12-03T08:00:00Z"},
		{"RFC 3339 nano", `"2026-12-03T10:00:00.123456789Z"`, "2026-12-03T10:00:00.123456789Z"},
		{"unix seconds", `1733230000`, "2024-12-03T12:46:40Z"},
		{"unix seconds string", `"1733230000"`, "2024-12-03T12:46:40Z"},
		{"fractional seconds", `1521472262.908181`, "2018-03-19T15:11:02.908181Z"},
		{"fractional string", `"1521472262.5"`, "2018-03-19T15:11:02.5Z"},
		{"exponent", `1.7e9`, "2023-11-14T22:13:20Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse([]byte(`{"id":"e","type":"job.failed","timestamp":`+tc.in+`}`),
				Defaults{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, e.Fields()["timestamp"])
			assert.Equal(t, tc.want, e.Time.Format(time.RFC3339Nano))
		})
	}
}

func TestRouteDefaults(t *testing.T) {
	received := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)
	d := Defaults{Account: "acme", Domain: "mail.acme.example", Environment: "production",
		Received: received}

	e, err := Parse([]byte(`{"id":"e","type":"message.opened","account":"evil"}`), d)
	require.NoError(t, err)
	assert.Equal(t, "acme", e.Account, "the route's account wins")
	assert.Equal(t, "mail.acme.example", e.Domain)
	assert.Equal(t, "production", e.Fields()["environment"])
	assert.Equal(t, received, e.Time)

	e, err = Parse([]byte(`{"id":"e","type":"message.opened","domain":"other.example",`+
		`"environment":"staging","timestamp":"2026-01-01T00:00:00Z"}`), d)
	require.NoError(t, err)
	assert.Equal(t, "other.example", e.Domain, "the event's own domain is kept")
	assert.Equal(t, "staging", e.Fields()["environment"])
	assert.Equal(t, "2026-01-01T00:00:00Z", e.Fields()["timestamp"])

	e, err = Parse([]byte(`{"id":"e","type":"job.failed","account":"self"}`), Defaults{})
	require.NoError(t, err)
	assert.Equal(t, "self", e.Account, "routes that set none keep the event's account")
}

func TestNumbersStayExactInTheBodyAndAreFloatsForRules(t *testing.T) {
	e, err := Parse([]byte(`{"id":"e","type":"job.failed","big":9007199254740993,`+
		`"dec":5.0,"exp":5e0,"nested":{"n":[1.10]}}`), Defaults{})
	require.NoError(t, err)
	assert.Equal(t, `{"big":9007199254740993,"dec":5.0,"exp":5e0,"id":"e",`+
		`"nested":{"n":[1.10]},"type":"job.failed"}`, string(e.Body()))
	f := e.Fields()
	assert.Equal(t, float64(9007199254740992), f["big"])
	assert.Equal(t, 5.0, f["dec"])
	assert.Equal(t, 5.0, f["exp"])
	assert.Equal(t, 1.1, f["nested"].(map[string]any)["n"].([]any)[0])
}

func TestNewTakesGoNumbers(t *testing.T) {
	e, err := New(map[string]any{"id": "e", "type": "intent.hot_lead", "domain": "d",
		"heat_score": 8, "confidence": 0.9, "urgency": int64(4)}, Defaults{})
	require.NoError(t, err)
	assert.Equal(t, 8.0, e.Fields()["heat_score"])
	assert.Equal(t, 4.0, e.Fields()["urgency"])
	assert.JSONEq(t, `{"id":"e","type":"intent.hot_lead","domain":"d","heat_score":8,`+
		`"confidence":0.9,"urgency":4}`, string(e.Body()))
}

func TestBodyIsNotHTMLEscaped(t *testing.T) {
	e, err := Parse([]byte(`{"id":"e","type":"job.failed","url":"https://x/?a=1&b=<2>"}`),
		Defaults{})
	require.NoError(t, err)
	assert.Contains(t, string(e.Body()), `"url":"https://x/?a=1&b=<2>"`)
}

func TestEventSizeLimit(t *testing.T) {
	big := `{"id":"e","type":"job.failed","x":"` + strings.Repeat("a", MaxEventSize) + `"}`
	_, err := Parse([]byte(big), Defaults{})
	assert.ErrorContains(t, err, "over the limit of 1048576")
}

func TestExpandSelectors(t *testing.T) {
	types, ok := Expand("message.*")
	require.True(t, ok)
	assert.Len(t, types, 8)
	types, ok = Expand("*")
	require.True(t, ok)
	assert.Len(t, types, 14)
	assert.NotContains(t, types, JobFailed)
	types, ok = Expand("job.*")
	require.True(t, ok)
	assert.Equal(t, []string{JobCompleted, JobFailed}, types)
	_, ok = Expand("mail.*")
	assert.False(t, ok)
	_, ok = Expand("message.opend")
	assert.False(t, ok)
	_, ok = Expand("*.*")
	assert.False(t, ok)
}

func TestEveryKnownFieldRefusesAValueOfAnotherType(t *testing.T) {
	samples := map[string]string{
		"a string": `"x"`, "a number": `5`, "a boolean": `true`, "an object": `{}`,
		"an array": `[]`, "null": `null`,
	}
	fits := map[Kind][]string{
		KindString: {"a string"}, KindNumber: {"a number"}, KindBool: {"a boolean"},
		KindObject: {"an object"}, KindTimestamp: {"a string", "a number"},
	}
	for name, kind := range KnownFields() {
		if name == "id" || name == "type" {
			continue // TestEventValidationNamesTheField
		}
		for typ, v := range samples {
			if contains(fits[kind], typ) {
				continue
			}
			t.Run(name+" "+typ, func(t *testing.T) {
				_, err := Parse([]byte(`{"id":"e","type":"job.failed","`+name+`":`+v+`}`),
					Defaults{})
				require.Error(t, err)
				var fe *FieldError
				require.ErrorAs(t, err, &fe)
				assert.Equal(t, name, fe.Path)
				if kind != KindTimestamp {
					assert.Equal(t, "must be "+article(kind)+", not "+typ, fe.Msg)
				}
			})
		}
	}
}

func article(k Kind) string {
	if k == KindObject {
		return "an object"
	}
	return "a " + string(k)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
