package esp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

// sparkPostItem wraps one event of a class.
func sparkPostItem(class, fields string) string {
	return `{"msys":{"` + class + `":{"event_id":"1","timestamp":"1780315200",` +
		`"rcpt_to":"a@example.com","friendly_from":"orders@mail.example.com",` +
		`"transmission_id":"t1",` + fields + `}}}`
}

func TestSparkPostEventTypes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		class  string
		fields string
		want   []string
	}{
		{"injection", "message_event", `"type":"injection"`, []string{event.MessageQueued}},
		{"delivery", "message_event", `"type":"delivery"`, []string{event.MessageDelivered}},
		{"delay", "message_event", `"type":"delay","bounce_class":"21"`,
			[]string{event.MessageDeferred}},
		{"hard bounce", "message_event", `"type":"bounce","bounce_class":"10"`,
			[]string{event.MessageBounced, event.InboundHardBounce}},
		{"generic hard bounce", "message_event", `"type":"bounce","bounce_class":30`,
			[]string{event.MessageBounced, event.InboundHardBounce}},
		{"out of band hard", "message_event", `"type":"out_of_band","bounce_class":"10"`,
			[]string{event.MessageBounced, event.InboundHardBounce}},
		{"soft bounce", "message_event", `"type":"bounce","bounce_class":"22"`,
			[]string{event.MessageFailed}},
		{"block bounce", "message_event", `"type":"bounce","bounce_class":"51"`,
			[]string{event.MessageFailed}},
		{"undetermined bounce", "message_event", `"type":"bounce","bounce_class":"1"`,
			[]string{event.MessageBounced}},
		{"unsubscribe by mail", "message_event", `"type":"bounce","bounce_class":"90"`,
			[]string{event.MessageUnsubscribed}},
		{"auto-reply", "message_event", `"type":"bounce","bounce_class":"60"`, nil},
		{"policy rejection", "message_event", `"type":"policy_rejection"`,
			[]string{event.MessageFailed}},
		{"generation failure", "gen_event", `"type":"generation_failure"`,
			[]string{event.MessageFailed}},
		{"spam complaint", "message_event", `"type":"spam_complaint"`,
			[]string{event.InboundComplaint}},
		{"open", "track_event", `"type":"open"`, []string{event.MessageOpened}},
		{"initial open", "track_event", `"type":"initial_open"`, []string{event.MessageOpened}},
		{"amp click", "track_event", `"type":"amp_click"`, []string{event.MessageClicked}},
		{"list unsubscribe", "unsubscribe_event", `"type":"list_unsubscribe"`,
			[]string{event.MessageUnsubscribed}},
		{"relay", "relay_event", `"type":"relay_injection"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseUnsigned(t, SourceSparkPost, "["+sparkPostItem(tc.class, tc.fields)+"]")
			assert.Equal(t, tc.want, typesOf(res))
			assert.Equal(t, len(tc.want) == 0, res.Unmapped == 1)
		})
	}
}

func TestSparkPostIPIsTheRecipientsOnlyOnEngagement(t *testing.T) {
	res := parseUnsigned(t, SourceSparkPost, "["+
		sparkPostItem("message_event", `"type":"delivery","ip_address":"203.0.113.25"`)+","+
		sparkPostItem("track_event", `"type":"click","ip_address":"198.51.100.44"`)+"]")
	require.Len(t, res.Events, 2)
	assert.Nil(t, field(res.Events[0], "ip"), "the MX's address")
	assert.Equal(t, "198.51.100.44", field(res.Events[1], "ip"))
	assert.Equal(t, "a@example.com", field(res.Events[0], "recipient"), "rcpt_to without raw_")
}

func TestSparkPostPingAndOddItems(t *testing.T) {
	res := parseUnsigned(t, SourceSparkPost, `[{"msys":{}}, {"other":1}, {"msys":{"x":2}}]`)
	assert.Empty(t, res.Events)
	assert.Equal(t, 1, res.Unmapped, "the empty ping")
	require.Len(t, res.Rejected, 2)
	assert.EqualError(t, res.Rejected[0].Err, "msys: must be an object, not null")
	assert.EqualError(t, res.Rejected[1].Err, "msys.x: must be an object, not a number")
}
