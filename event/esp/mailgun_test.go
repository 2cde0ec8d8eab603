package esp

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

const mailgunKey = "key-fresh-test"

// mailgunEventData returns an event-data object.
func mailgunEventData(fields string) string {
	return `{"id":"evt1","timestamp":1780315200.25,"recipient":"a@example.com",` +
		`"domain":{"name":"mail.example.com"},` + fields + `}`
}

func TestMailgunVerifiesFreshSignature(t *testing.T) {
	a := newAdapter(t, SourceMailgun, Config{SigningKey: mailgunKey, Now: clockAt(testNow)})
	res, err := parse(a, mailgunRequest(mailgunKey, testNow, mailgunEventData(`"event":"delivered"`)))
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, "mail.example.com", res.Events[0].Domain)
	assert.Equal(t, "2026-06-01T12:00:00.25Z", field(res.Events[0], "timestamp"))

	_, err = parse(a, mailgunRequest("another-key", testNow, mailgunEventData(`"event":"delivered"`)))
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.ErrorContains(t, err, "signature does not match")
}

func TestMailgunTokenCarriesOneBodyOnly(t *testing.T) {
	a := newAdapter(t, SourceMailgun, Config{SigningKey: mailgunKey, Now: clockAt(testNow)})
	r := mailgunRequest(mailgunKey, testNow, mailgunEventData(`"event":"opened"`))

	_, err := parse(a, r)
	require.NoError(t, err)
	forged := &Request{Header: r.Header, Body: []byte(strings.Replace(string(r.Body),
		`"opened"`, `"clicked"`, 1))}
	_, err = parse(a, forged)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.ErrorContains(t, err, "signature token was already used with another body")
}

// Mailgun resends the original signature block when it retries a request
// whose answer it did not get; refusing it would lose the event.
func TestMailgunRetryOfTheSameRequestIsAccepted(t *testing.T) {
	a := newAdapter(t, SourceMailgun, Config{SigningKey: mailgunKey, Now: clockAt(testNow)})
	r := mailgunRequest(mailgunKey, testNow, mailgunEventData(`"event":"opened"`))

	first, err := parse(a, r)
	require.NoError(t, err)
	again, err := parse(a, r)
	require.NoError(t, err)
	require.Len(t, again.Events, 1)
	assert.Equal(t, first.Events[0].ID, again.Events[0].ID, "the dedupe key repeats")
}

func TestMailgunAcceptsTheParentAccountSignature(t *testing.T) {
	a := newAdapter(t, SourceMailgun, Config{SigningKey: mailgunKey, Now: clockAt(testNow)})
	ts, token := strconv.FormatInt(testNow.Unix(), 10), strings.Repeat("p", 50)
	body := fmt.Sprintf(`{"signature":{"timestamp":%q,"token":%q,"signature":%q,`+
		`"parent-signature":%q},"event-data":%s}`, ts, token,
		mailgunSignature("subaccount-key", ts, token), mailgunSignature(mailgunKey, ts, token),
		mailgunEventData(`"event":"opened"`))

	res, err := parse(a, &Request{Body: []byte(body)})
	require.NoError(t, err)
	assert.Len(t, res.Events, 1)
}

func TestMailgunTimestampTolerance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signed time.Duration
		ok     bool
	}{
		{"a minute old", -time.Minute, true},
		{"a day and a minute old", -24*time.Hour - time.Minute, false},
		{"a day and a minute ahead", 24*time.Hour + time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdapter(t, SourceMailgun, Config{SigningKey: mailgunKey, Now: clockAt(testNow)})
			_, err := parse(a, mailgunRequest(mailgunKey, testNow.Add(tc.signed),
				mailgunEventData(`"event":"opened"`)))
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, "over the tolerance of 24h0m0s")
		})
	}
}

func TestMailgunRefusesBodiesWithoutASignatureBlock(t *testing.T) {
	a := newAdapter(t, SourceMailgun, Config{SigningKey: mailgunKey, Now: clockAt(testNow)})
	for name, body := range map[string]string{
		"no signature":    `{"event-data":{"event":"opened"}}`,
		"no token":        `{"signature":{"timestamp":"1780315200","signature":"00"}}`,
		"form encoded":    `timestamp=1780315200&token=abc&signature=00`,
		"signature array": `{"signature":[]}`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(a, &Request{Body: []byte(body)})
			assert.ErrorIs(t, err, ErrUnauthenticated)
		})
	}
}

func TestMailgunEventTypes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields string
		want   []string
	}{
		{"accepted", `"event":"accepted"`, []string{event.MessageQueued}},
		{"rejected", `"event":"rejected"`, []string{event.MessageFailed}},
		{"delivered", `"event":"delivered"`, []string{event.MessageDelivered}},
		{"permanent bounce", `"event":"failed","severity":"permanent","reason":"bounce"`,
			[]string{event.MessageBounced, event.InboundHardBounce}},
		{"suppressed", `"event":"failed","severity":"permanent","reason":"suppress-bounce"`,
			[]string{event.MessageFailed}},
		{"permanent old", `"event":"failed","severity":"permanent","reason":"old"`,
			[]string{event.MessageFailed}},
		{"temporary", `"event":"failed","severity":"temporary","reason":"generic"`,
			[]string{event.MessageDeferred}},
		{"temporary given up", `"event":"failed","severity":"temporary","reason":"old"`,
			[]string{event.MessageFailed}},
		{"opened", `"event":"opened"`, []string{event.MessageOpened}},
		{"clicked", `"event":"clicked"`, []string{event.MessageClicked}},
		{"complained", `"event":"complained"`, []string{event.InboundComplaint}},
		{"unsubscribed", `"event":"unsubscribed"`, []string{event.MessageUnsubscribed}},
		{"stored", `"event":"stored"`, nil},
		{"list member", `"event":"list_member_uploaded"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseUnsigned(t, SourceMailgun, `{"event-data":`+mailgunEventData(tc.fields)+`}`)
			assert.Equal(t, tc.want, typesOf(res))
			assert.Equal(t, len(tc.want) == 0, res.Unmapped == 1)
		})
	}
}

func TestMailgunIsHumanComesFromTheBotFlag(t *testing.T) {
	for _, tc := range []struct {
		name       string
		clientInfo string
		want       any
	}{
		{"apple", `{"bot":"apple"}`, false},
		{"gmail proxy", `{"bot":"gmail"}`, false},
		{"generic", `{"bot":"generic"}`, false},
		{"no bot detected", `{"bot":""}`, true},
		{"no detection", `{"client-name":"Chrome"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := parseUnsigned(t, SourceMailgun, `{"event-data":`+
				mailgunEventData(`"event":"opened","client-info":`+tc.clientInfo)+`}`)
			require.Len(t, res.Events, 1)
			assert.Equal(t, tc.want, field(res.Events[0], "is_human"))
		})
	}
}

func TestMailgunDomainFallsBackToTheSender(t *testing.T) {
	res := parseUnsigned(t, SourceMailgun, `{"event-data":{"event":"delivered","id":"e",`+
		`"message":{"headers":{"from":"Shop <orders@Mail.Shop.example>"}}}}`)
	require.Len(t, res.Events, 1)
	assert.Equal(t, "mail.shop.example", res.Events[0].Domain)
}

func TestMailgunEventWithoutEventDataIsRejected(t *testing.T) {
	res := parseUnsigned(t, SourceMailgun, `{"signature":{}}`)
	assert.Empty(t, res.Events)
	require.Len(t, res.Rejected, 1)
	assert.EqualError(t, res.Rejected[0].Err, "event-data: missing; want an object")
}

func TestReplayCacheForgetsTheOldestTokenWhenFull(t *testing.T) {
	c := newReplayCache(2)
	later := testNow.Add(time.Hour)
	body, other := []byte("body"), []byte("other")
	assert.True(t, c.use("a", body, testNow, later))
	assert.True(t, c.use("b", body, testNow, later))
	assert.False(t, c.use("a", other, testNow, later), "a is remembered")

	assert.True(t, c.use("c", body, testNow, later), "full: a is forgotten")
	assert.True(t, c.use("a", other, testNow, later))
	assert.False(t, c.use("c", other, testNow, later))
	assert.True(t, c.use("c", body, testNow, later), "c comes again with its body")
}

func TestReplayCacheForgetsExpiredTokens(t *testing.T) {
	c := newReplayCache(10)
	body, other := []byte("body"), []byte("other")
	assert.True(t, c.use("a", body, testNow, testNow.Add(time.Minute)))
	assert.True(t, c.use("b", body, testNow, testNow.Add(time.Hour)))

	later := testNow.Add(2 * time.Minute)
	assert.True(t, c.use("a", other, later, later.Add(time.Minute)), "a expired")
	assert.False(t, c.use("b", other, later, later.Add(time.Minute)))
	assert.True(t, c.use("c", body, later, later.Add(time.Minute)))
	assert.LessOrEqual(t, len(c.seen), 3)
}
