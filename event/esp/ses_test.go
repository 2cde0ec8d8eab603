package esp

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

// sesRecord returns an SES event record for one message to destination.
func sesRecord(eventType, destination, object string) string {
	rec := `{"eventType":"` + eventType + `","mail":{"timestamp":"2026-06-01T11:59:00Z",` +
		`"source":"Shop <orders@mail.example.com>","messageId":"ses-1",` +
		`"destination":` + destination + `,"tags":{"ses:from-domain":["mail.example.com"],` +
		`"campaign":["june"],"multi":["a","b"]}}`
	if object != "" {
		rec += "," + object
	}
	return rec + "}"
}

// pinnedSES returns an SES adapter that trusts the test key's certificate.
func pinnedSES(t *testing.T, k *snsKey, cfg Config) Adapter {
	t.Helper()
	cfg.CertFile, cfg.Now = k.certFile, clockAt(testNow)
	if cfg.TopicARNs == nil {
		cfg.TopicARNs = []string{testTopic}
	}
	return newAdapter(t, SourceSES, cfg)
}

func TestSESVerifiesBothSignatureVersions(t *testing.T) {
	k := newSNSKey(t)
	a := pinnedSES(t, k, Config{})
	for _, version := range []string{"1", "2"} {
		t.Run("v"+version, func(t *testing.T) {
			m := &snsMessage{Type: snsNotification, MessageID: "n-" + version,
				TopicArn: testTopic, Message: sesRecord("Send", `["a@example.com"]`, `"send":{}`),
				Timestamp: testNow.Format(time.RFC3339), SignatureVersion: version,
				SigningCertURL: testCertURL}
			res, err := parse(a, k.sign(t, m))
			require.NoError(t, err)
			assert.Equal(t, []string{event.MessageQueued}, typesOf(res))
		})
	}

	m := &snsMessage{Type: snsNotification, MessageID: "n", TopicArn: testTopic,
		Message: "{}", Timestamp: testNow.Format(time.RFC3339), SignatureVersion: "2"}
	r := k.sign(t, m)
	r.Body = []byte(`{"Type":"Notification","MessageId":"n","TopicArn":"` + testTopic +
		`","Message":"{}","Timestamp":"` + m.Timestamp + `","SignatureVersion":"3",` +
		`"Signature":"` + m.Signature + `"}`)
	_, err := parse(a, r)
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.ErrorContains(t, err, `unknown SignatureVersion "3"`)
}

func TestSESRefusesTopicsOffTheAllowList(t *testing.T) {
	k := newSNSKey(t)
	a := pinnedSES(t, k, Config{TopicARNs: []string{"arn:aws:sns:us-east-1:1:other"}})
	_, err := parse(a, k.notification(t, "n1", sesRecord("Send", `["a@example.com"]`, "")))
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.ErrorContains(t, err, "is not in topic_arn")
}

func TestSESWithoutTopicsAcceptsAnySignedTopic(t *testing.T) {
	k := newSNSKey(t)
	a := newAdapter(t, SourceSES, Config{CertFile: k.certFile, Now: clockAt(testNow)})
	assert.False(t, a.Verifies())
	res, err := parse(a, k.notification(t, "n1", sesRecord("Send", `["a@example.com"]`, "")))
	require.NoError(t, err)
	assert.Len(t, res.Events, 1)

	r := k.notification(t, "n2", "{}")
	r.Body[len(r.Body)/2] ^= 0x01
	_, err = parse(a, r)
	assert.ErrorIs(t, err, ErrUnauthenticated, "the signature is still checked")
}

func TestSESFetchesCertificatesOnlyFromSNSHosts(t *testing.T) {
	k := newSNSKey(t)
	for _, tc := range []struct {
		name, url, want string
	}{
		{"http", "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem",
			"not an https URL"},
		{"other host", "https://example.com/SimpleNotificationService-a.pem",
			`host "example.com" is not sns.<region>.amazonaws.com`},
		{"look-alike host", "https://sns.us-east-1.amazonaws.com.evil.example/" +
			"SimpleNotificationService-a.pem", "is not sns.<region>.amazonaws.com"},
		{"sub-domain", "https://x.sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem",
			"is not sns.<region>.amazonaws.com"},
		{"user info", "https://u@sns.us-east-1.amazonaws.com/SimpleNotificationService-a.pem",
			"URL has user info"},
		{"port", "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-a.pem",
			"port 8443 is not 443"},
		{"path", "https://sns.us-east-1.amazonaws.com/other.pem",
			`path "/other.pem" is not /SimpleNotificationService-*.pem`},
		{"path traversal", "https://sns.us-east-1.amazonaws.com/x/../SimpleNotificationService-a.pem",
			"is not /SimpleNotificationService-*.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := &certServer{cert: k.certPEM}
			a := newAdapter(t, SourceSES, Config{TopicARNs: []string{testTopic},
				HTTPClient: server.client(), Now: clockAt(testNow)})
			m := &snsMessage{Type: snsNotification, MessageID: "n", TopicArn: testTopic,
				Message: "{}", Timestamp: testNow.Format(time.RFC3339), SignatureVersion: "2",
				SigningCertURL: tc.url}
			_, err := parse(a, k.sign(t, m))
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, tc.want)
			assert.Zero(t, server.requests.Load(), "nothing fetched")
		})
	}
}

func TestSESFetchesEachCertificateOnce(t *testing.T) {
	k := newSNSKey(t)
	server := &certServer{cert: k.certPEM, urls: make(chan string, 10)}
	a := newAdapter(t, SourceSES, Config{TopicARNs: []string{testTopic},
		HTTPClient: server.client(), Now: clockAt(testNow)})
	for _, id := range []string{"n1", "n2", "n3"} {
		res, err := parse(a, k.notification(t, id, sesRecord("Send", `["a@example.com"]`, "")))
		require.NoError(t, err)
		require.Len(t, res.Events, 1)
	}
	assert.Equal(t, int64(1), server.requests.Load())
	assert.Equal(t, testCertURL, <-server.urls)
}

func TestSESCertificateFetchFailures(t *testing.T) {
	k := newSNSKey(t)
	for _, tc := range []struct {
		name   string
		server *certServer
		is     error
		want   string
	}{
		{"network error", &certServer{err: errors.New("connection refused")}, ErrUnavailable,
			"connection refused"},
		{"SNS error", &certServer{status: 503}, ErrUnavailable, "status 503"},
		{"not found", &certServer{status: 404}, ErrUnauthenticated, "answered status 404"},
		{"redirect not followed", &certServer{status: 302}, ErrUnauthenticated,
			"answered status 302"},
		{"not a certificate", &certServer{cert: []byte("hello")}, ErrUnauthenticated,
			"no PEM certificate"},
		{"another key", &certServer{cert: otherCert(t)}, ErrUnauthenticated,
			"signature does not match the message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdapter(t, SourceSES, Config{TopicARNs: []string{testTopic},
				HTTPClient: tc.server.client(), Now: clockAt(testNow)})
			_, err := parse(a, k.notification(t, "n1", "{}"))
			assert.ErrorIs(t, err, tc.is)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// otherCert returns a certificate of another RSA key: the fixtures' one.
func otherCert(t *testing.T) []byte {
	t.Helper()
	cert, err := os.ReadFile(filepath.Join(fixtureDir, "keys", "sns-test-signing-cert.pem"))
	require.NoError(t, err)
	return cert
}

func TestSESTimestampTolerance(t *testing.T) {
	k := newSNSKey(t)
	a := pinnedSES(t, k, Config{Tolerance: time.Hour})
	m := &snsMessage{Type: snsNotification, MessageID: "n", TopicArn: testTopic,
		Message: "{}", Timestamp: testNow.Add(-2 * time.Hour).Format(time.RFC3339),
		SignatureVersion: "2"}
	_, err := parse(a, k.sign(t, m))
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.ErrorContains(t, err, "Timestamp: timestamp is 2h0m0s old")
}

func TestSESRefusesRawDeliveryAndMismatchedHeaders(t *testing.T) {
	k := newSNSKey(t)
	a := pinnedSES(t, k, Config{})
	for _, tc := range []struct {
		header, value, want string
	}{
		{"X-Amz-Sns-Rawdelivery", "true", "raw message delivery carries no signature"},
		{"X-Amz-Sns-Message-Type", "SubscriptionConfirmation",
			"X-Amz-Sns-Message-Type does not match the body"},
		{"X-Amz-Sns-Message-Id", "other", "X-Amz-Sns-Message-Id does not match the body"},
	} {
		t.Run(tc.header, func(t *testing.T) {
			r := k.notification(t, "n1", "{}")
			r.Header.Set(tc.header, tc.value)
			_, err := parse(a, r)
			assert.ErrorIs(t, err, ErrUnauthenticated)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestSESSplitsRecordsIntoOneEventPerRecipient(t *testing.T) {
	k := newSNSKey(t)
	a := pinnedSES(t, k, Config{})
	two := `["a@example.com","b@example.com"]`
	for _, tc := range []struct {
		name       string
		record     string
		ids        []string
		recipients []any
	}{
		{"delivery", sesRecord("Delivery", two, `"delivery":{"timestamp":"2026-06-01T12:00:01Z",`+
			`"recipients":["a@example.com","b@example.com"]}`),
			[]string{"n1:a@example.com", "n1:b@example.com"},
			[]any{"a@example.com", "b@example.com"}},
		{"hard bounce of one of two", sesRecord("Bounce", two, `"bounce":{"bounceType":"Permanent",`+
			`"bounceSubType":"General","bouncedRecipients":[{"emailAddress":"b@example.com"}]}`),
			[]string{"n1", "n1:inbound"}, []any{"b@example.com", "b@example.com"}},
		{"hard bounce of two", sesRecord("Bounce", two, `"bounce":{"bounceType":"Permanent",`+
			`"bouncedRecipients":[{"emailAddress":"a@example.com"},{"emailAddress":"b@example.com"}]}`),
			[]string{"n1:a@example.com", "n1:a@example.com:inbound", "n1:b@example.com",
				"n1:b@example.com:inbound"},
			[]any{"a@example.com", "a@example.com", "b@example.com", "b@example.com"}},
		{"send", sesRecord("Send", two, `"send":{}`),
			[]string{"n1:a@example.com", "n1:b@example.com"},
			[]any{"a@example.com", "b@example.com"}},
		{"open of a message to two names no recipient", sesRecord("Open", two,
			`"open":{"ipAddress":"198.51.100.1","userAgent":"UA"}`), []string{"n1"}, []any{nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := parse(a, k.notification(t, "n1", tc.record))
			require.NoError(t, err)
			var ids []string
			var recipients []any
			for _, e := range res.Events {
				ids = append(ids, e.ID)
				recipients = append(recipients, field(e, "recipient"))
			}
			assert.Equal(t, tc.ids, ids)
			assert.Equal(t, tc.recipients, recipients)
		})
	}
}

func TestSESRecordTypes(t *testing.T) {
	k := newSNSKey(t)
	a := pinnedSES(t, k, Config{})
	one := `["a@example.com"]`
	bounce := func(typ, sub string) string {
		return sesRecord("Bounce", one, `"bounce":{"bounceType":"`+typ+`","bounceSubType":"`+
			sub+`","bouncedRecipients":[{"emailAddress":"a@example.com"}]}`)
	}
	complaint := func(fields string) string {
		return sesRecord("Complaint", one, `"complaint":{`+fields+
			`"complainedRecipients":[{"emailAddress":"a@example.com"}]}`)
	}
	for _, tc := range []struct {
		name    string
		message string
		want    []string
	}{
		{"permanent general", bounce("Permanent", "General"),
			[]string{event.MessageBounced, event.InboundHardBounce}},
		{"permanent no email", bounce("Permanent", "NoEmail"),
			[]string{event.MessageBounced, event.InboundHardBounce}},
		{"suppressed", bounce("Permanent", "Suppressed"), []string{event.MessageFailed}},
		{"account suppressed", bounce("Permanent", "OnAccountSuppressionList"),
			[]string{event.MessageFailed}},
		{"transient, no longer retried", bounce("Transient", "MailboxFull"),
			[]string{event.MessageFailed}},
		{"undetermined", bounce("Undetermined", "Undetermined"), []string{event.MessageBounced}},
		{"complaint", complaint(`"complaintFeedbackType":"abuse",`),
			[]string{event.InboundComplaint}},
		{"not spam", complaint(`"complaintFeedbackType":"not-spam",`), nil},
		{"complaint on suppressed", complaint(`"complaintSubType":"OnAccountSuppressionList",`),
			[]string{event.MessageFailed}},
		{"delivery delay", sesRecord("DeliveryDelay", one, `"deliveryDelay":`+
			`{"delayedRecipients":[{"emailAddress":"a@example.com"}]}`),
			[]string{event.MessageDeferred}},
		{"reject", sesRecord("Reject", one, `"reject":{"reason":"Bad content"}`),
			[]string{event.MessageFailed}},
		{"rendering failure", sesRecord("Rendering Failure", one, ""),
			[]string{event.MessageFailed}},
		{"click", sesRecord("Click", one, `"click":{"link":"https://x.example/"}`),
			[]string{event.MessageClicked}},
		{"unsubscribe all", sesRecord("Subscription", one,
			`"subscription":{"newTopicPreferences":{"unsubscribeAll":true}}`),
			[]string{event.MessageUnsubscribed}},
		{"topic opt-out", sesRecord("Subscription", one, `"subscription":{"newTopicPreferences":`+
			`{"topicSubscriptionStatus":[{"topicName":"news","subscriptionStatus":"OptOut"}]}}`),
			[]string{event.MessageUnsubscribed}},
		{"opt-in", sesRecord("Subscription", one, `"subscription":{"newTopicPreferences":`+
			`{"topicSubscriptionStatus":[{"topicName":"news","subscriptionStatus":"OptIn"}]}}`),
			nil},
		{"identity notification", `{"notificationType":"Delivery","mail":{"messageId":"m",` +
			`"source":"a@mail.example.com","destination":["a@example.com"]},` +
			`"delivery":{"recipients":["a@example.com"]}}`, []string{event.MessageDelivered}},
		{"no event type", `{"mail":{}}`, nil},
		{"SES validation note", "Successfully validated SNS topic for Amazon SES event publishing.",
			nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := parse(a, k.notification(t, "n1", tc.message))
			require.NoError(t, err)
			assert.Equal(t, tc.want, typesOf(res))
			assert.Equal(t, len(tc.want) == 0, res.Unmapped == 1)
			for _, e := range res.Events {
				assert.Equal(t, "mail.example.com", e.Domain)
			}
		})
	}
}

func TestSESMetadataComesFromTheSendersMessageTags(t *testing.T) {
	k := newSNSKey(t)
	res, err := parse(pinnedSES(t, k, Config{}),
		k.notification(t, "n1", sesRecord("Send", `["a@example.com"]`, "")))
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.Equal(t, map[string]any{"campaign": "june", "multi": []any{"a", "b"}},
		field(res.Events[0], "metadata"))
	assert.Equal(t, map[string]any{"message_id": "n1", "topic_arn": testTopic},
		field(res.Events[0], "sns"))
}

// subscriptionRequest returns a signed SubscriptionConfirmation.
func subscriptionRequest(t *testing.T, k *snsKey, typ, topic, subscribeURL string) *Request {
	t.Helper()
	return k.sign(t, &snsMessage{Type: typ, MessageID: "c1", TopicArn: topic,
		Message: "You have chosen to subscribe.\nVisit the SubscribeURL.", Token: "tok",
		SubscribeURL: subscribeURL, Timestamp: testNow.Format(time.RFC3339),
		SignatureVersion: "1", SigningCertURL: testCertURL})
}

const testSubscribeURL = "https://sns.us-east-1.amazonaws.com/" +
	"?Action=ConfirmSubscription&Token=tok"

func TestSESSubscriptionConfirmation(t *testing.T) {
	k := newSNSKey(t)
	for _, tc := range []struct {
		name        string
		autoConfirm bool
	}{
		{"auto confirmed", true},
		{"confirmed by hand", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := &certServer{urls: make(chan string, 1)}
			a := pinnedSES(t, k, Config{AutoConfirm: tc.autoConfirm, HTTPClient: server.client()})
			res, err := parse(a, subscriptionRequest(t, k, snsSubscribe, testTopic, testSubscribeURL))
			require.NoError(t, err)
			assert.Empty(t, res.Events)
			assert.Zero(t, res.Unmapped)
			require.NotNil(t, res.Subscription)
			assert.Equal(t, Subscription{TopicARN: testTopic, SubscribeURL: testSubscribeURL,
				AutoConfirm: tc.autoConfirm}, *res.Subscription)

			err = a.(Confirmer).Confirm(context.Background(), res.Subscription)
			if !tc.autoConfirm {
				assert.ErrorContains(t, err, "is not confirmed automatically")
				assert.Zero(t, server.requests.Load())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, testSubscribeURL, <-server.urls)
		})
	}
}

func TestSESConfirmRefusesWhatItWasNotToldToConfirm(t *testing.T) {
	k := newSNSKey(t)
	server := &certServer{}
	a := pinnedSES(t, k, Config{AutoConfirm: true, HTTPClient: server.client()})
	c := a.(Confirmer)
	for name, s := range map[string]*Subscription{
		"nil":            nil,
		"unlisted topic": {TopicARN: "arn:aws:sns:us-east-1:1:x", AutoConfirm: true},
		"off-host URL": {TopicARN: testTopic, AutoConfirm: true,
			SubscribeURL: "https://evil.example/?Action=ConfirmSubscription"},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, c.Confirm(context.Background(), s))
		})
	}
	failing := &certServer{status: http.StatusForbidden}
	a = pinnedSES(t, k, Config{AutoConfirm: true, HTTPClient: failing.client()})
	err := a.(Confirmer).Confirm(context.Background(), &Subscription{TopicARN: testTopic,
		SubscribeURL: testSubscribeURL, AutoConfirm: true})
	assert.ErrorContains(t, err, "status 403")
	assert.Zero(t, server.requests.Load())
}

func TestSESSubscriptionConfirmationsOfOtherTopicsOrHostsAreRefused(t *testing.T) {
	k := newSNSKey(t)
	a := pinnedSES(t, k, Config{AutoConfirm: true})
	_, err := parse(a, subscriptionRequest(t, k, snsSubscribe, "arn:aws:sns:us-east-1:9:evil",
		testSubscribeURL))
	assert.ErrorIs(t, err, ErrUnauthenticated)

	_, err = parse(a, subscriptionRequest(t, k, snsSubscribe, testTopic,
		"https://evil.example/confirm"))
	assert.ErrorIs(t, err, ErrUnauthenticated)
	assert.ErrorContains(t, err, "SubscribeURL: host")
}

func TestSESUnsubscribeConfirmationIsUnmapped(t *testing.T) {
	k := newSNSKey(t)
	res, err := parse(pinnedSES(t, k, Config{}),
		subscriptionRequest(t, k, snsUnsubscribe, testTopic, testSubscribeURL))
	require.NoError(t, err)
	assert.Nil(t, res.Subscription)
	assert.Equal(t, 1, res.Unmapped)
}
