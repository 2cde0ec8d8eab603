package esp

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

const resendSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// resendBody returns a Resend event of type typ.
func resendBody(typ, data string) string {
	return `{"type":"` + typ + `","created_at":"2026-06-01T12:00:00.5Z","data":{` +
		`"email_id":"em1","from":"Shop <orders@mail.example.com>","to":["a@example.com"],` +
		`"tags":[{"name":"campaign","value":"june"}]` + data + `}}`
}

func TestResendVerifiesFreshSignatures(t *testing.T) {
	a := newAdapter(t, SourceResend, Config{Secret: resendSecret, Now: clockAt(testNow)})
	body := resendBody("email.delivered", "")
	for _, prefix := range []string{"svix", "webhook"} {
		t.Run(prefix, func(t *testing.T) {
			res, err := parse(a, resendRequest(t, resendSecret, prefix, "msg_1", testNow, body))
			require.NoError(t, err)
			require.Len(t, res.Events, 1)
			assert.Equal(t, "msg_1", res.Events[0].ID, "the Svix message id")
			assert.Equal(t, map[string]any{"campaign": "june"}, field(res.Events[0], "metadata"))
		})
	}

	other := "whsec_" + "dGVzdC1yZXNlbmQtc3ZpeC1zZWNyZXQtMzJieXRlcyE="
	_, err := parse(a, resendRequest(t, other, "svix", "msg_1", testNow, body))
	assert.ErrorIs(t, err, ErrUnauthenticated)
}

func TestResendTimestampTolerance(t *testing.T) {
	body := resendBody("email.delivered", "")
	for _, tc := range []struct {
		name      string
		signed    time.Duration
		tolerance time.Duration
		want      string
	}{
		{"four minutes old", -4 * time.Minute, 0, ""},
		{"six minutes old", -6 * time.Minute, 0, "timestamp outside tolerance: too old"},
		{"six minutes ahead", 6 * time.Minute, 0, "timestamp outside tolerance: too new"},
		{"an hour old, tolerated", -time.Hour, 2 * time.Hour, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdapter(t, SourceResend, Config{Secret: resendSecret,
				Tolerance: tc.tolerance, Now: clockAt(testNow)})
			_, err := parse(a, resendRequest(t, resendSecret, "svix", "msg_1",
				testNow.Add(tc.signed), body))
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestResendEventTypes(t *testing.T) {
	bounce := func(typ, sub string) string {
		return `,"bounce":{"type":"` + typ + `","subType":"` + sub + `"}`
	}
	for _, tc := range []struct {
		name, typ, data string
		want            []string
	}{
		{"sent", "email.sent", "", []string{event.MessageQueued}},
		{"delivered", "email.delivered", "", []string{event.MessageDelivered}},
		{"delayed", "email.delivery_delayed", "", []string{event.MessageDeferred}},
		{"hard bounce", "email.bounced", bounce("Permanent", "General"),
			[]string{event.MessageBounced, event.InboundHardBounce}},
		{"suppressed bounce", "email.bounced", bounce("Permanent", "Suppressed"),
			[]string{event.MessageFailed}},
		{"transient bounce", "email.bounced", bounce("Transient", "MailboxFull"),
			[]string{event.MessageFailed}},
		{"undetermined bounce", "email.bounced", bounce("Undetermined", ""),
			[]string{event.MessageBounced}},
		{"failed", "email.failed", "", []string{event.MessageFailed}},
		{"suppressed", "email.suppressed", "", []string{event.MessageFailed}},
		{"opened", "email.opened", "", []string{event.MessageOpened}},
		{"clicked", "email.clicked", `,"click":{"link":"https://x.example/",` +
			`"ipAddress":"198.51.100.1","userAgent":"UA"}`, []string{event.MessageClicked}},
		{"complained", "email.complained", "", []string{event.InboundComplaint}},
		{"scheduled", "email.scheduled", "", nil},
		{"contact", "contact.created", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseUnsigned(t, SourceResend, resendBody(tc.typ, tc.data))
			assert.Equal(t, tc.want, typesOf(res))
			assert.Equal(t, len(tc.want) == 0, res.Unmapped == 1)
			for _, e := range res.Events {
				assert.Equal(t, "mail.example.com", e.Domain)
				assert.Equal(t, "em1", field(e, "message_id"))
				assert.Equal(t, "2026-06-01T12:00:00.5Z", field(e, "timestamp"))
			}
		})
	}
}

func TestResendSplitsRecipientsButNotOpens(t *testing.T) {
	a := newAdapter(t, SourceResend, Config{Secret: resendSecret, Now: clockAt(testNow)})
	body := `{"type":"email.delivered","created_at":"2026-06-01T12:00:00Z","data":` +
		`{"email_id":"em1","from":"orders@mail.example.com","to":["a@example.com","b@example.com"]}}`
	res, err := parse(a, resendRequest(t, resendSecret, "svix", "msg_2", testNow, body))
	require.NoError(t, err)
	require.Len(t, res.Events, 2)
	assert.Equal(t, "msg_2:a@example.com", res.Events[0].ID)
	assert.Equal(t, "msg_2:b@example.com", res.Events[1].ID)

	open := `{"type":"email.opened","created_at":"2026-06-01T12:00:00Z","data":` +
		`{"email_id":"em1","from":"orders@mail.example.com","to":["a@example.com","b@example.com"]}}`
	res, err = parse(a, resendRequest(t, resendSecret, "svix", "msg_3", testNow, open))
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, "msg_3", res.Events[0].ID)
	assert.Nil(t, field(res.Events[0], "recipient"), "Resend cannot tell who opened")
}

func TestResendWithoutSignatureHeadersBuildsAnID(t *testing.T) {
	res := parseUnsigned(t, SourceResend, resendBody("email.delivered", ""))
	require.Len(t, res.Events, 1)
	assert.Regexp(t, `^resend-[0-9a-f]{32}$`, res.Events[0].ID)
	assert.Equal(t, res.Events[0].ID,
		parseUnsigned(t, SourceResend, resendBody("email.delivered", "")).Events[0].ID)
}

func TestResendAcceptsTheSvixKnownAnswerAndAnyOfSeveralSignatures(t *testing.T) {
	a := newAdapter(t, SourceResend, Config{Secret: resendSecret,
		Now: clockAt(time.Unix(1614265330, 0))})
	const good = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	const other = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	for _, tc := range []struct {
		name, signature string
		ok              bool
	}{
		{"the known answer", good, true},
		{"after another key's signature", other + " " + good, true},
		{"beside a newer version", "v1a,xyz " + good, true},
		{"only another key's signature", other, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("Svix-Id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
			h.Set("Svix-Timestamp", "1614265330")
			h.Set("Svix-Signature", tc.signature)
			res, err := parse(a, &Request{Header: h, Body: []byte(`{"test": 2432232314}`)})
			if !tc.ok {
				assert.ErrorIs(t, err, ErrUnauthenticated)
				return
			}
			require.NoError(t, err)
			require.Len(t, res.Rejected, 1, "authentic, but no Resend event")
			assert.EqualError(t, res.Rejected[0].Err, "type: missing; want a Resend event type")
		})
	}
}

func TestResendRefusesAnUnsignedSvixIDBesideTheSignedWebhookID(t *testing.T) {
	a := newAdapter(t, SourceResend, Config{Secret: resendSecret, Now: clockAt(testNow)})
	r := resendRequest(t, resendSecret, "webhook", "msg_1", testNow,
		resendBody("email.delivered", ""))
	r.Header.Set("Svix-Id", "msg_1")
	res, err := parse(a, r)
	require.NoError(t, err, "the same id under both names")
	assert.Equal(t, "msg_1", res.Events[0].ID)

	// A replay with a fresh unsigned id would otherwise pass dedupe.
	r.Header.Set("Svix-Id", "msg_fresh")
	res, err = parse(a, r)
	assert.Nil(t, res)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.ErrorContains(t, err, "svix-id and webhook-id differ")
}
