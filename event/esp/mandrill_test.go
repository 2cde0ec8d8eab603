package esp

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

const (
	mandrillKey = "fresh-mandrill-key"
	mandrillURL = "https://gw.example/esp/mandrill?tenant=acme&x=1"
)

// mandrillEventJSON returns one Mandrill message event.
func mandrillEventJSON(fields string) string {
	return `{"_id":"m1","ts":1780315200,"msg":{"email":"a@example.com",` +
		`"sender":"orders@mail.example.com","tags":["t"],"metadata":{"campaign":"june"}},` +
		fields + `}`
}

func TestMandrillVerifiesFreshSignature(t *testing.T) {
	a := newAdapter(t, SourceMandrill, Config{WebhookKey: mandrillKey, URL: mandrillURL})
	events := "[" + mandrillEventJSON(`"event":"delivered"`) + "]"

	res, err := parse(a, mandrillRequest(mandrillKey, mandrillURL, events))
	require.NoError(t, err)
	assert.Equal(t, []string{event.MessageDelivered}, typesOf(res))

	for name, r := range map[string]*Request{
		"another URL": mandrillRequest(mandrillKey, "http://gw.example/esp/mandrill", events),
		"another key": mandrillRequest("other", mandrillURL, events),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(a, r)
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, "signature does not match the URL and body")
		})
	}
}

func TestMandrillSignsSortedParameters(t *testing.T) {
	form := url.Values{"mandrill_events": {"[]"}, "b": {"2"}, "a": {"1", "9"}}
	assert.Equal(t, "https://h/?q=1a9b2mandrill_events[]",
		string(mandrillSigned("https://h/?q=1", form)))
}

func TestMandrillRefusesRepeatedParametersThatCouldSmuggleEvents(t *testing.T) {
	a := newAdapter(t, SourceMandrill, Config{WebhookKey: mandrillKey, URL: mandrillURL})
	signed := mandrillRequest(mandrillKey, mandrillURL, "[]")
	forged := url.Values{"mandrill_events": {"[" + mandrillEventJSON(
		`"event":"hard_bounce"`) + "]"}}.Encode()
	for _, tc := range []struct {
		name, body string
	}{
		{"forged events before the signed ones", forged + "&" + string(signed.Body)},
		{"forged events after the signed ones", string(signed.Body) + "&" + forged},
		{"the name spelled with an escape", strings.Replace(forged, "_", "%5F", 1) + "&" +
			string(signed.Body)},
		{"another parameter repeated", string(signed.Body) + "&a=1&a=2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Request{Header: signed.Header.Clone(), Body: []byte(tc.body)}
			res, err := parse(a, r)
			assert.Nil(t, res)
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, "is repeated")
		})
	}

	res, err := parse(newAdapter(t, SourceMandrill, Config{}),
		&Request{Header: http.Header{}, Body: []byte(forged + "&" + string(signed.Body))})
	assert.Nil(t, res)
	assert.ErrorIs(t, err, ErrMalformed, "unsigned, the batch to read is still ambiguous")
}

func TestMandrillProbesGetAnEmptyResult(t *testing.T) {
	a := newAdapter(t, SourceMandrill, Config{WebhookKey: mandrillKey, URL: mandrillURL})

	res, err := parse(a, &Request{Method: http.MethodHead, Header: http.Header{}})
	require.NoError(t, err)
	assert.Equal(t, &Result{}, res, "the HEAD probe of a new webhook URL")

	res, err = parse(a, mandrillRequest(mandrillTestKey, mandrillURL, "[]"))
	require.NoError(t, err)
	assert.Equal(t, &Result{}, res, "the empty batch signed with the test key")

	_, err = parse(a, mandrillRequest(mandrillTestKey, mandrillURL,
		"["+mandrillEventJSON(`"event":"send"`)+"]"))
	assert.ErrorIs(t, err, ErrUnauthenticated, "the test key signs no events")
}

func TestMandrillRefusesMissingSignatures(t *testing.T) {
	a := newAdapter(t, SourceMandrill, Config{WebhookKey: mandrillKey, URL: mandrillURL})
	for name, r := range map[string]*Request{
		"no header":       {Header: http.Header{}, Body: []byte("mandrill_events=[]")},
		"not base64":      {Header: http.Header{"X-Mandrill-Signature": {"%%"}}},
		"body not a form": {Header: http.Header{"X-Mandrill-Signature": {"AA=="}}, Body: []byte("%zz")},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(a, r)
			assert.ErrorIs(t, err, ErrUnauthenticated)
		})
	}
}

func TestMandrillEventTypes(t *testing.T) {
	for _, tc := range []struct {
		event string
		want  []string
	}{
		{"send", []string{event.MessageQueued}},
		{"delivered", []string{event.MessageDelivered}},
		{"deferral", []string{event.MessageDeferred}},
		{"hard_bounce", []string{event.MessageBounced, event.InboundHardBounce}},
		{"soft_bounce", []string{event.MessageFailed}},
		{"reject", []string{event.MessageFailed}},
		{"open", []string{event.MessageOpened}},
		{"click", []string{event.MessageClicked}},
		{"spam", []string{event.InboundComplaint}},
		{"unsub", []string{event.MessageUnsubscribed}},
		{"inbound", nil},
	} {
		t.Run(tc.event, func(t *testing.T) {
			res := parseUnsigned(t, SourceMandrill,
				"["+mandrillEventJSON(`"event":"`+tc.event+`"`)+"]")
			assert.Equal(t, tc.want, typesOf(res))
			for _, e := range res.Events {
				assert.Equal(t, "mail.example.com", e.Domain, "from msg.sender")
				assert.Equal(t, "m1", field(e, "message_id"))
				assert.Equal(t, map[string]any{"campaign": "june"}, field(e, "metadata"))
			}
		})
	}
}

func TestMandrillSyncEventsAreUnmapped(t *testing.T) {
	res := parseUnsigned(t, SourceMandrill,
		`[{"type":"blacklist","action":"add","reject":{"email":"a@example.com"}},{"ts":1}]`)
	assert.Empty(t, res.Events)
	assert.Equal(t, 1, res.Unmapped)
	require.Len(t, res.Rejected, 1)
	assert.EqualError(t, res.Rejected[0].Err, "event: missing; want a Mandrill event name")
}

func TestMandrillIsHumanIsFalseOnlyForRobotAgents(t *testing.T) {
	for _, tc := range []struct {
		name, parsed string
		want         any
	}{
		{"robot", `{"type":"Robot"}`, false},
		{"browser", `{"type":"Browser"}`, nil},
		{"unknown agent", `null`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseUnsigned(t, SourceMandrill, "["+mandrillEventJSON(
				`"event":"click","url":"https://x.example/","user_agent_parsed":`+tc.parsed)+"]")
			require.Len(t, res.Events, 1)
			assert.Equal(t, tc.want, field(res.Events[0], "is_human"))
		})
	}
}

func TestMandrillIDsTellClicksOfTwoLinksApart(t *testing.T) {
	res := parseUnsigned(t, SourceMandrill, "["+
		mandrillEventJSON(`"event":"click","url":"https://x.example/a"`)+","+
		mandrillEventJSON(`"event":"click","url":"https://x.example/b"`)+","+
		mandrillEventJSON(`"event":"click","url":"https://x.example/a"`)+"]")
	require.Len(t, res.Events, 3)
	assert.NotEqual(t, res.Events[0].ID, res.Events[1].ID)
	assert.Equal(t, res.Events[0].ID, res.Events[2].ID, "the same click is a duplicate")
}
