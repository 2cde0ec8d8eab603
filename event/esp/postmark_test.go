package esp

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

func TestCredentialsAreCheckedForEachSchemeConfigured(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	both := Config{BasicAuth: &BasicAuth{User: "hook", Password: "s3cret"}, Bearer: "tok"}
	onlyBasic := Config{BasicAuth: both.BasicAuth}
	colons := Config{BasicAuth: &BasicAuth{User: "hook", Password: ":s3:cr:et:"}}
	for _, tc := range []struct {
		name  string
		cfg   Config
		auth  string
		error string // empty when accepted
	}{
		{"basic", onlyBasic, basic("hook", "s3cret"), ""},
		{"basic scheme in lower case", onlyBasic, "basic " + basic("hook", "s3cret")[6:], ""},
		{"wrong password", onlyBasic, basic("hook", "s3creT"), "wrong credentials"},
		{"wrong user", onlyBasic, basic("hooks", "s3cret"), "wrong credentials"},
		{"password prefix", onlyBasic, basic("hook", "s3cre"), "wrong credentials"},
		{"basic not base64", onlyBasic, "Basic !!", "not base64"},
		{"bearer where basic is configured", onlyBasic, "Bearer tok", "want Basic credentials"},
		{"no header", onlyBasic, "", "no Authorization header"},
		{"empty basic credentials", onlyBasic, basic("", ""), "wrong credentials"},
		{"basic scheme alone", onlyBasic, "Basic", "wrong credentials"},
		{"password with colons", colons, basic("hook", ":s3:cr:et:"), ""},
		{"password cut at a colon", colons, basic("hook", ":s3"), "wrong credentials"},
		{"either: basic", both, basic("hook", "s3cret"), ""},
		{"either: bearer", both, "Bearer tok", ""},
		{"either: wrong bearer", both, "Bearer tok2", "wrong credentials"},
		{"either: other scheme", both, "Digest x", "want Basic or Bearer credentials"},
		{"bearer only", Config{Bearer: "tok"}, "bearer tok", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, source := range []string{SourcePostmark, SourceSparkPost, SourceBrevo} {
				h := http.Header{}
				if tc.auth != "" {
					h.Set("Authorization", tc.auth)
				}
				_, err := parse(newAdapter(t, source, tc.cfg),
					&Request{Header: h, Body: []byte(`[]`)})
				if tc.error == "" {
					assert.NoError(t, err, source)
					continue
				}
				assert.ErrorIs(t, err, ErrUnauthenticated, source)
				assert.ErrorContains(t, err, tc.error, source)
			}
		})
	}
}

// postmarkBounce returns a Postmark Bounce record.
func postmarkBounce(fields string) string {
	return `{"RecordType":"Bounce","ID":42,"MessageID":"m1","Email":"a@example.com",` +
		`"From":"orders@mail.example.com","BouncedAt":"2026-06-01T12:00:00Z",` + fields + `}`
}

func TestPostmarkBounceTypes(t *testing.T) {
	for _, tc := range []struct {
		bounce string
		want   []string
	}{
		{`"Type":"HardBounce"`, []string{event.MessageBounced, event.InboundHardBounce}},
		{`"TypeCode":1`, []string{event.MessageBounced, event.InboundHardBounce}},
		{`"Type":"Transient"`, []string{event.MessageDeferred}},
		{`"Type":"DnsError"`, []string{event.MessageDeferred}},
		{`"Type":"SoftBounce"`, []string{event.MessageFailed}},
		{`"TypeCode":"4096"`, []string{event.MessageFailed}},
		{`"Type":"Unknown"`, []string{event.MessageBounced}},
		{`"Type":"Blocked"`, []string{event.MessageFailed}},
		{`"Type":"DMARCPolicy"`, []string{event.MessageFailed}},
		{`"Type":"BadEmailAddress"`, []string{event.MessageFailed}},
		{`"Type":"ManuallyDeactivated"`, []string{event.MessageFailed}},
		{`"Type":"SpamNotification"`, []string{event.MessageFailed}},
		{`"Type":"SpamComplaint"`, []string{event.InboundComplaint}},
		{`"Type":"Unsubscribe"`, []string{event.MessageUnsubscribed}},
		{`"Type":"AutoResponder"`, nil},
		{`"Type":"Subscribe"`, nil},
		{`"Type":"ChallengeVerification"`, nil},
		{`"Type":"SomethingNew"`, nil},
	} {
		t.Run(tc.bounce, func(t *testing.T) {
			res := parseUnsigned(t, SourcePostmark, postmarkBounce(tc.bounce))
			assert.Equal(t, tc.want, typesOf(res))
			assert.Equal(t, len(tc.want) == 0, res.Unmapped == 1)
			for _, e := range res.Events {
				assert.Equal(t, "mail.example.com", e.Domain, "from the bounce's From")
				assert.Equal(t, "a@example.com", field(e, "recipient"))
			}
			if len(tc.want) > 0 {
				assert.Equal(t, "42", res.Events[0].ID, "Postmark's bounce ID")
			}
		})
	}
}

func TestPostmarkSubscriptionChangeIsAnUnsubscribeOnlyWhenManual(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields string
		want   []string
	}{
		{"manual suppression", `"SuppressSending":true,"SuppressionReason":"ManualSuppression"`,
			[]string{event.MessageUnsubscribed}},
		{"suppressed by a hard bounce", `"SuppressSending":true,"SuppressionReason":"HardBounce"`,
			nil},
		{"reactivated", `"SuppressSending":false,"SuppressionReason":"ManualSuppression"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseUnsigned(t, SourcePostmark, `{"RecordType":"SubscriptionChange",`+
				`"MessageID":"m1","Recipient":"a@example.com","ChangedAt":"2026-06-01T12:00:00Z",`+
				tc.fields+`}`)
			assert.Equal(t, tc.want, typesOf(res))
		})
	}
}

func TestPostmarkBuildsStableIDsForEventsWithoutOne(t *testing.T) {
	open := `{"RecordType":"Open","MessageID":"m1","Recipient":"a@example.com",` +
		`"ReceivedAt":"2026-06-01T12:00:00Z","ReadSeconds":"7"}`
	first := parseUnsigned(t, SourcePostmark, open)
	again := parseUnsigned(t, SourcePostmark, open)
	later := parseUnsigned(t, SourcePostmark,
		`{"RecordType":"Open","MessageID":"m1","Recipient":"a@example.com",`+
			`"ReceivedAt":"2026-06-01T12:00:01Z"}`)
	require.Len(t, first.Events, 1)
	assert.Equal(t, first.Events[0].ID, again.Events[0].ID)
	assert.NotEqual(t, first.Events[0].ID, later.Events[0].ID)
	assert.Equal(t, 7.0, field(first.Events[0], "dwell_seconds"), "a numeric string")
	assert.Nil(t, field(first.Events[0], "is_human"), "Postmark gives no machine signal")
}

func TestPostmarkUnknownRecordTypeIsUnmapped(t *testing.T) {
	res := parseUnsigned(t, SourcePostmark, `{"RecordType":"Inbound","MessageID":"m1"}`)
	assert.Empty(t, res.Events)
	assert.Equal(t, 1, res.Unmapped)
}
