package esp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

func TestBrevoEventTypes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		want    []string
		isHuman any
	}{
		{"request", []string{event.MessageQueued}, nil},
		{"delivered", []string{event.MessageDelivered}, nil},
		{"deferred", []string{event.MessageDeferred}, nil},
		{"soft_bounce", []string{event.MessageFailed}, nil},
		{"hard_bounce", []string{event.MessageBounced, event.InboundHardBounce}, nil},
		{"hardBounce", []string{event.MessageBounced, event.InboundHardBounce}, nil},
		{"invalid_email", []string{event.MessageFailed}, nil},
		{"blocked", []string{event.MessageFailed}, nil},
		{"error", []string{event.MessageFailed}, nil},
		{"opened", []string{event.MessageOpened}, true},
		{"unique_opened", []string{event.MessageOpened}, true},
		{"proxy_open", []string{event.MessageOpened}, false},
		{"uniqueProxyOpen", []string{event.MessageOpened}, false},
		{"click", []string{event.MessageClicked}, nil},
		{"spam", []string{event.InboundComplaint}, nil},
		{"complaint", []string{event.InboundComplaint}, nil},
		{"unsubscribed", []string{event.MessageUnsubscribed}, nil},
		{"list_addition", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseUnsigned(t, SourceBrevo, `{"event":"`+tc.name+`","email":"a@example.com",`+
				`"message-id":"<m1@smtp-relay.mailin.fr>","ts_epoch":1780315200123}`)
			assert.Equal(t, tc.want, typesOf(res))
			assert.Equal(t, len(tc.want) == 0, res.Unmapped == 1)
			for _, e := range res.Events {
				assert.Equal(t, tc.isHuman, field(e, "is_human"))
				assert.Equal(t, "m1@smtp-relay.mailin.fr", field(e, "message_id"))
				assert.Equal(t, "2026-06-01T12:00:00.123Z", field(e, "timestamp"), "ts_epoch ms")
			}
		})
	}
}

func TestBrevoQuirks(t *testing.T) {
	res := parseUnsigned(t, SourceBrevo, `[
		{"event":"delivered","email":"a@example.com","ts":1780315200,"tag":"[\"t1\",\"t2\"]",
		 "X-Mailin-custom":"not json","id":7},
		{"event":"delivered","email":"a@example.com","ts_event":"1780315201","tag":"single",
		 "X-Mailin-custom":"{\"environment\":\"staging\"}"}
	]`)
	require.Len(t, res.Events, 2)
	first, second := res.Events[0], res.Events[1]
	assert.Equal(t, "2026-06-01T12:00:00Z", field(first, "timestamp"), "ts in seconds")
	assert.Equal(t, []any{"t1", "t2"}, field(first, "tags"), "tag holding a JSON array")
	assert.Nil(t, field(first, "metadata"), "custom header that is not a JSON object")
	assert.Equal(t, "2026-06-01T12:00:01Z", field(second, "timestamp"))
	assert.Equal(t, []any{"single"}, field(second, "tags"))
	assert.Equal(t, "staging", field(second, "environment"))
	assert.NotEqual(t, first.ID, second.ID)
	assert.Regexp(t, `^brevo-[0-9a-f]{32}$`, first.ID)
}
