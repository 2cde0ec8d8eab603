package esp

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

const sendGridBatch = `[
	{"event":"processed","email":"a@example.com","sg_event_id":"e1","timestamp":1780315200},
	{"event":"open","email":"a@example.com","sg_event_id":"e2","timestamp":1780315260,
	 "sg_machine_open":true}
]`

func TestSendGridVerifiesFreshSignature(t *testing.T) {
	key := newSendGridKey(t)
	a := newAdapter(t, SourceSendGrid, Config{VerificationKey: key.pub, Now: clockAt(testNow)})

	res, err := parse(a, key.sign(t, testNow, sendGridBatch))
	require.NoError(t, err)
	assert.Equal(t, []string{event.MessageQueued, event.MessageOpened}, typesOf(res))

	other := newSendGridKey(t)
	_, err = parse(a, other.sign(t, testNow, sendGridBatch))
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.ErrorContains(t, err, "signature does not match the body")
}

func TestSendGridKnownAnswerVector(t *testing.T) {
	// The vector of SendGrid's own helper libraries.
	a := newAdapter(t, SourceSendGrid, Config{
		VerificationKey: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqB" +
			"aWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
		Now: clockAt(time.Unix(1588788367, 0)),
	})
	h := http.Header{}
	h.Set(sendGridSignatureHeader, "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz"+
		"2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=")
	h.Set(sendGridTimestampHeader, "1588788367")
	body := `{"category":"example_payload","event":"test_event","message_id":"message_id"}`

	res, err := parse(a, &Request{Header: h, Body: []byte(body)})
	require.NoError(t, err)
	assert.Empty(t, res.Events)
	assert.Equal(t, 1, res.Unmapped, "test_event is authentic and unmapped")
}

func TestSendGridKeyMayBePEM(t *testing.T) {
	key := newSendGridKey(t)
	pemKey := "-----BEGIN PUBLIC KEY-----\n" + key.pub[:64] + "\n" + key.pub[64:] +
		"\n-----END PUBLIC KEY-----\n"
	a := newAdapter(t, SourceSendGrid, Config{VerificationKey: pemKey, Now: clockAt(testNow)})
	_, err := parse(a, key.sign(t, testNow, sendGridBatch))
	assert.NoError(t, err)
}

func TestSendGridTimestampTolerance(t *testing.T) {
	key := newSendGridKey(t)
	for _, tc := range []struct {
		name      string
		signed    time.Duration // relative to now
		tolerance time.Duration
		want      string
	}{
		{"within the default day", -23 * time.Hour, 0, ""},
		{"older than the default day", -25 * time.Hour, 0, "timestamp is 25h0m0s old"},
		{"too far in the future", 25 * time.Hour, 0, "timestamp is 25h0m0s in the future"},
		{"older than a configured tolerance", -10 * time.Minute, 5 * time.Minute,
			"over the tolerance of 5m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdapter(t, SourceSendGrid, Config{VerificationKey: key.pub,
				Tolerance: tc.tolerance, Now: clockAt(testNow)})
			_, err := parse(a, key.sign(t, testNow.Add(tc.signed), sendGridBatch))
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSendGridRefusesMissingOrMalformedHeaders(t *testing.T) {
	key := newSendGridKey(t)
	a := newAdapter(t, SourceSendGrid, Config{VerificationKey: key.pub, Now: clockAt(testNow)})
	for _, tc := range []struct {
		name   string
		header string
		value  string
		want   string
	}{
		{"no signature", sendGridSignatureHeader, "", "no X-Twilio-Email-Event-Webhook-Signature"},
		{"no timestamp", sendGridTimestampHeader, "", "is not unix seconds"},
		{"timestamp not a number", sendGridTimestampHeader, "12a", "is not unix seconds"},
		{"signature not base64", sendGridSignatureHeader, "***", "is not base64"},
		{"signature not DER", sendGridSignatureHeader, "AAAA", "signature does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := key.sign(t, testNow, sendGridBatch)
			r.Header.Set(tc.header, tc.value)
			_, err := parse(a, r)
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSendGridEventTypes(t *testing.T) {
	for _, tc := range []struct {
		event, bounceType string
		want              []string
	}{
		{"processed", "", []string{event.MessageQueued}},
		{"delivered", "", []string{event.MessageDelivered}},
		{"deferred", "", []string{event.MessageDeferred}},
		{"bounce", "bounce", []string{event.MessageBounced, event.InboundHardBounce}},
		{"bounce", "", []string{event.MessageBounced, event.InboundHardBounce}},
		{"bounce", "blocked", []string{event.MessageFailed}},
		{"bounce", "expired", []string{event.MessageFailed}},
		{"dropped", "", []string{event.MessageFailed}},
		{"open", "", []string{event.MessageOpened}},
		{"click", "", []string{event.MessageClicked}},
		{"spamreport", "", []string{event.InboundComplaint}},
		{"unsubscribe", "", []string{event.MessageUnsubscribed}},
		{"group_unsubscribe", "", []string{event.MessageUnsubscribed}},
		{"group_resubscribe", "", nil},
		{"account_status_change", "", nil},
	} {
		t.Run(tc.event+"/"+tc.bounceType, func(t *testing.T) {
			res := parseUnsigned(t, SourceSendGrid, `[{"event":"`+tc.event+`","type":"`+
				tc.bounceType+`","sg_event_id":"e1","timestamp":1780315200}]`)
			assert.Equal(t, tc.want, typesOf(res))
			assert.Equal(t, len(tc.want) == 0, res.Unmapped == 1)
			if len(tc.want) == 2 {
				assert.Equal(t, "e1", res.Events[0].ID)
				assert.Equal(t, "e1:inbound", res.Events[1].ID)
			}
		})
	}
}

func TestSendGridIsHumanComesFromTheMachineOpenFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		item string
		want any // nil when absent
	}{
		{"machine open", `"event":"open","sg_machine_open":true`, false},
		{"human open", `"event":"open","sg_machine_open":false`, true},
		{"flag as a string", `"event":"open","sg_machine_open":"true"`, false},
		{"no flag", `"event":"open"`, nil},
		{"click has no flag", `"event":"click","sg_machine_open":false`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseUnsigned(t, SourceSendGrid, `[{`+tc.item+`,"sg_event_id":"e"}]`)
			require.Len(t, res.Events, 1)
			assert.Equal(t, tc.want, field(res.Events[0], "is_human"))
		})
	}
}

func TestSendGridToleratesQuirks(t *testing.T) {
	res := parseUnsigned(t, SourceSendGrid, `[
		{"event":"deferred","timestamp":"1780315200","category":"one-tag","attempt":"2",
		 "smtp-id":"<abc@ismtpd-1>","email":"a@example.com","ip":"149.72.10.20",
		 "brand_new_key":{"x":1}},
		{"event":"deferred","timestamp":"1780315200","category":"one-tag","attempt":"2",
		 "smtp-id":"<abc@ismtpd-1>","email":"a@example.com","ip":"149.72.10.20",
		 "brand_new_key":{"x":1}}
	]`)
	require.Len(t, res.Events, 2)
	e := res.Events[0]
	assert.Equal(t, "2026-06-01T12:00:00Z", field(e, "timestamp"), "a numeric string")
	assert.Equal(t, []any{"one-tag"}, field(e, "tags"), "a string category")
	assert.Equal(t, "abc@ismtpd-1", field(e, "message_id"), "smtp-id without sg_message_id")
	assert.Nil(t, field(e, "ip"), "the sending IP of a deferral is not the recipient's")
	assert.Regexp(t, `^sendgrid-[0-9a-f]{32}$`, e.ID, "built when sg_event_id is missing")
	assert.Equal(t, e.ID, res.Events[1].ID, "built ids are stable")
	assert.Equal(t, map[string]any{"brand_new_key": map[string]any{"x": 1.0}},
		field(e, "metadata"), "unknown keys are custom arguments")
}
