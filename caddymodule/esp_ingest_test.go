package caddymodule

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event/esp"
)

// espRoute is a route of one ESP source with the given subdirectives; its
// events belong to acme and default to the domain mail.acme.example.
func espRoute(path, source string, settings ...string) string {
	return fmt.Sprintf("route %s {\n\t\thookgate_ingest %s {\n\t\t\taccount acme\n"+
		"\t\t\tdomain mail.acme.example\n\t\t\t%s\n\t\t}\n\t}", path, source,
		strings.Join(settings, "\n\t\t\t"))
}

// freshSource is an ESP route with keys made by the test, and requests
// signed now with them.
type freshSource struct {
	source   string
	settings []string
	// sign returns a request carrying one event with id, signed with the
	// route's keys, or with other keys when forged is set.
	sign func(t *testing.T, id string, forged bool) espRequest
	// typ is the canonical type of the event; message.delivered when empty.
	typ string
}

// freshSources returns every ESP source with fresh keys.
func freshSources(t *testing.T) []freshSource {
	t.Helper()
	return []freshSource{
		freshSendGrid(t), freshMailgun(t), freshResend(t), freshMandrill(t), freshSES(t),
		freshCredentials(t, esp.SourcePostmark, `{"RecordType":"Delivery","MessageID":%q,`+
			`"Recipient":"jane@example.com","DeliveredAt":"2026-12-01T10:00:00Z"}`),
		freshCredentials(t, esp.SourceSparkPost, `[{"msys":{"message_event":`+
			`{"type":"delivery","event_id":%q,"timestamp":"1796119200",`+
			`"rcpt_to":"jane@example.com"}}}]`),
		freshCredentials(t, esp.SourceBrevo, `{"event":"delivered","message-id":%q,`+
			`"email":"jane@example.com","ts_epoch":1796119200000}`),
	}
}

func freshSendGrid(t *testing.T) freshSource {
	key, other := newECDSAKey(t), newECDSAKey(t)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	return freshSource{
		source:   esp.SourceSendGrid,
		settings: []string{"verification_key " + base64.StdEncoding.EncodeToString(der)},
		sign: func(t *testing.T, id string, forged bool) espRequest {
			body := fmt.Sprintf(`[{"event":"delivered","sg_event_id":%q,`+
				`"email":"jane@example.com","timestamp":1796119200}]`, id)
			signer := key
			if forged {
				signer = other
			}
			return sendGridRequest(t, signer, body)
		},
	}
}

// sendGridRequest signs body as SendGrid does, now.
func sendGridRequest(t *testing.T, key *ecdsa.PrivateKey, body string) espRequest {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	digest := sha256.Sum256([]byte(ts + body))
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	require.NoError(t, err)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Twilio-Email-Event-Webhook-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("X-Twilio-Email-Event-Webhook-Timestamp", ts)
	return espRequest{path: "/sendgrid", header: h, body: []byte(body)}
}

func newECDSAKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return key
}

func freshMailgun(t *testing.T) freshSource {
	key := randomKey(t, 24)
	return freshSource{
		source:   esp.SourceMailgun,
		settings: []string{"signing_key " + key},
		sign: func(t *testing.T, id string, forged bool) espRequest {
			k := key
			if forged {
				k = randomKey(t, 24)
			}
			return mailgunRequest(t, k, fmt.Sprintf(`{"event":"delivered","id":%q,`+
				`"timestamp":1796119200.5,"recipient":"jane@example.com"}`, id))
		},
	}
}

// mailgunRequest signs a Mailgun body around eventData now, with a fresh
// token.
func mailgunRequest(t *testing.T, key, eventData string) espRequest {
	t.Helper()
	ts, token := strconv.FormatInt(time.Now().Unix(), 10), randomKey(t, 36)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(ts + token))
	body := fmt.Sprintf(`{"signature":{"timestamp":%q,"token":%q,"signature":%q},`+
		`"event-data":%s}`, ts, token, hex.EncodeToString(mac.Sum(nil)), eventData)
	h := http.Header{"Content-Type": {"application/json"}}
	return espRequest{path: "/mailgun", header: h, body: []byte(body)}
}

func freshResend(t *testing.T) freshSource {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte(randomKey(t, 24)))
	return freshSource{
		source:   esp.SourceResend,
		settings: []string{"secret " + secret},
		sign: func(t *testing.T, id string, forged bool) espRequest {
			body := []byte(`{"type":"email.delivered","created_at":"2026-12-01T10:00:00Z",` +
				`"data":{"email_id":"e1","from":"Acme <orders@mail.acme.example>",` +
				`"to":["jane@example.com"]}}`)
			s := secret
			if forged {
				s = "whsec_" + base64.StdEncoding.EncodeToString([]byte(randomKey(t, 24)))
			}
			return espRequest{path: "/resend", header: svixSign(t, s, id, body), body: body}
		},
	}
}

// freshMandrillURL is the webhook URL the Mandrill tests configure.
const freshMandrillURL = "https://hooks.acme.example/esp/mandrill"

func freshMandrill(t *testing.T) freshSource {
	key := randomKey(t, 16)
	return freshSource{
		source:   esp.SourceMandrill,
		settings: []string{"webhook_key " + key, "url " + freshMandrillURL},
		typ:      "message.queued", // Mandrill's send
		sign: func(t *testing.T, id string, forged bool) espRequest {
			events := fmt.Sprintf(`[{"event":"send","_id":%q,"ts":1796119200,`+
				`"msg":{"email":"jane@example.com","sender":"orders@mail.acme.example"}}]`, id)
			k := key
			if forged {
				k = randomKey(t, 16)
			}
			h, body := mandrillForm(k, freshMandrillURL, events)
			return espRequest{path: "/mandrill", header: h, body: body}
		},
	}
}

// freshTopic is the SNS topic the SES tests allow.
const freshTopic = "arn:aws:sns:us-east-1:111122223333:ses-events"

func freshSES(t *testing.T) freshSource {
	k := newSNSKey(t)
	return freshSource{
		source:   esp.SourceSES,
		settings: []string{"topic_arn " + freshTopic, "cert_file " + k.certFile},
		sign: func(t *testing.T, id string, forged bool) espRequest {
			r := k.sign(t, snsMessage{Type: "Notification", MessageID: id, TopicArn: freshTopic,
				Message: sesDelivery("jane@example.com")})
			if forged {
				r.body = []byte(strings.Replace(string(r.body), "jane@", "joan@", 2))
			}
			return r
		},
	}
}

// sesDelivery is an SES Delivery record for recipient.
func sesDelivery(recipient string) string {
	return fmt.Sprintf(`{"eventType":"Delivery","mail":{"timestamp":"2026-12-01T10:00:00Z",`+
		`"source":"orders@mail.acme.example","messageId":"m1","destination":[%q]},`+
		`"delivery":{"timestamp":"2026-12-01T10:00:01Z","recipients":[%q]}}`,
		recipient, recipient)
}

// freshCredentials is an ESP that signs nothing, checked with a fresh basic
// auth password; body is a delivered event with a %q for its id.
func freshCredentials(t *testing.T, source, body string) freshSource {
	password := randomKey(t, 16)
	return freshSource{
		source:   source,
		settings: []string{"basic_auth hook " + password},
		sign: func(t *testing.T, id string, forged bool) espRequest {
			p := password
			if forged {
				p = randomKey(t, 16)
			}
			h := http.Header{}
			h.Set("Content-Type", "application/json")
			h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("hook:"+p)))
			return espRequest{path: "/" + source, header: h, body: fmt.Appendf(nil, body, id)}
		},
	}
}

func TestESPRequestsSignedNowAreDeliveredUnderTheRouteAccount(t *testing.T) {
	sources := freshSources(t)
	var site []string
	for _, s := range sources {
		site = append(site, espRoute("/"+s.source, s.source, s.settings...))
	}
	rc := newReceiver(t, nil)
	g := startGateway(t, catchAllHook(rc.URL), strings.Join(site, "\n\t"))

	for _, s := range sources {
		t.Run(s.source, func(t *testing.T) {
			g := *g
			g.t = t
			forged := g.send(s.sign(t, "evt-forged-"+s.source, true))
			assert.Equal(t, http.StatusUnauthorized, forged.status, "%v", forged.body)
			assert.Contains(t, forged.body["error"], s.source+": unauthenticated")

			a := g.send(s.sign(t, "evt-"+s.source, false))
			require.Equal(t, http.StatusOK, a.status, "%v", a.body)
			assert.Equal(t, map[string]any{"accepted": 1.0, "duplicates": 0.0, "matched": 1.0,
				"rejected": []any{}, "unmapped": 0.0}, a.body)

			var e map[string]any
			require.NoError(t, json.Unmarshal(rc.next(t, 5*time.Second).Body, &e))
			assert.Equal(t, cmp.Or(s.typ, "message.delivered"), e["type"])
			assert.Equal(t, s.source, e["source"])
			assert.Equal(t, "acme", e["account"])
			assert.Equal(t, "jane@example.com", e["recipient"])
			// The ESP's event id is the dedupe key; for the ESPs that give
			// their events none, the id is built from the message's.
			assert.Contains(t, fmt.Sprint(e["id"], " ", e["message_id"]), "evt-"+s.source)

			again := g.send(s.sign(t, "evt-"+s.source, false))
			require.Equal(t, http.StatusOK, again.status, "%v", again.body)
			assert.Equal(t, 1.0, again.body["duplicates"], "signed afresh, the same event")
		})
	}
	rc.quiet(t, 300*time.Millisecond)
}

func TestESPUnmappedEventsAreAnsweredOKAndCounted(t *testing.T) {
	key := newECDSAKey(t)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	rc := newReceiver(t, nil)
	g := startGateway(t, catchAllHook(rc.URL), espRoute("/sendgrid", esp.SourceSendGrid,
		"verification_key "+base64.StdEncoding.EncodeToString(der)))
	const series = `hookgate_events_unmapped_total{source="sendgrid"}`
	before := g.metrics()[series]

	a := g.send(sendGridRequest(t, key, `[
		{"event":"group_resubscribe","sg_event_id":"u1","email":"a@example.com","timestamp":1},
		{"event":"account_status_change","sg_event_id":"u2","timestamp":1},
		{"event":"processed","sg_event_id":"p1","email":"a@example.com","timestamp":1},
		7]`))
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	assert.Equal(t, map[string]any{"accepted": 1.0, "duplicates": 0.0, "matched": 1.0,
		"unmapped": 2.0, "rejected": []any{map[string]any{
			"index": 3.0, "error": "event must be an object, not a number",
		}}}, a.body)
	rc.next(t, 5*time.Second)
	assert.Equal(t, before+2, g.metrics()[series])
	rc.quiet(t, 200*time.Millisecond)
}

func TestESPMandrillProbesAreAnswered(t *testing.T) {
	key := randomKey(t, 16)
	rc := newReceiver(t, nil)
	g := startGateway(t, catchAllHook(rc.URL), espRoute("/mandrill", esp.SourceMandrill,
		"webhook_key "+key, "url "+freshMandrillURL))

	head := g.send(espRequest{method: http.MethodHead, path: "/mandrill"})
	assert.Equal(t, http.StatusOK, head.status)

	// Without an answer to HEAD, Mandrill posts an empty batch signed with
	// its generic test key.
	h, body := mandrillForm("test-webhook", freshMandrillURL, "[]")
	test := g.send(espRequest{path: "/mandrill", header: h, body: body})
	assert.Equal(t, http.StatusOK, test.status, "%v", test.body)
	assert.Equal(t, 0.0, test.body["accepted"])

	get := g.send(espRequest{method: http.MethodGet, path: "/mandrill"})
	assert.Equal(t, http.StatusMethodNotAllowed, get.status)
	assert.Equal(t, "POST, HEAD", get.header.Get("Allow"))
	rc.quiet(t, 200*time.Millisecond)
}

func TestESPOtherSourcesAnswerHEADWithMethodNotAllowed(t *testing.T) {
	g := startGateway(t, "", espRoute("/sendgrid", esp.SourceSendGrid))
	a := g.send(espRequest{method: http.MethodHead, path: "/sendgrid"})
	assert.Equal(t, http.StatusMethodNotAllowed, a.status)
	assert.Equal(t, "POST", a.header.Get("Allow"))
}

// subscriptionURL is the SubscribeURL of the tests' SNS confirmations.
const subscriptionURL = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription" +
	"&TopicArn=" + freshTopic + "&Token=t0k3n"

// subscription returns a signed SubscriptionConfirmation of topic.
func (k *snsKey) subscription(t *testing.T, topic string) espRequest {
	return k.sign(t, snsMessage{Type: "SubscriptionConfirmation", MessageID: "sub-1",
		TopicArn: topic, Message: "You have chosen to subscribe to the topic " + topic,
		SubscribeURL: subscriptionURL, Token: "t0k3n"})
}

func TestESPSESAutoConfirmConfirmsListedTopicsOnly(t *testing.T) {
	k := newSNSKey(t)
	sns := fakeSNS(t, nil)
	g := startGateway(t, "", espRoute("/ses", esp.SourceSES, "topic_arn "+freshTopic,
		"cert_file "+k.certFile, "auto_confirm"))

	other := g.send(k.subscription(t, "arn:aws:sns:us-east-1:444455556666:ses-events"))
	assert.Equal(t, http.StatusUnauthorized, other.status)
	assert.Contains(t, other.body["error"], "is not in topic_arn")
	assert.Empty(t, sns.requested())

	a := g.send(k.subscription(t, freshTopic))
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	assert.Equal(t, 0.0, a.body["accepted"])
	assert.Equal(t, []string{subscriptionURL}, sns.requested())
}

func TestESPSESConfirmationThatFailsIsAnsweredUnavailable(t *testing.T) {
	k := newSNSKey(t)
	sns := fakeSNS(t, nil)
	sns.fail(errors.New("connection refused"))
	g := startGateway(t, "", espRoute("/ses", esp.SourceSES, "topic_arn "+freshTopic,
		"cert_file "+k.certFile, "auto_confirm"))

	a := g.send(k.subscription(t, freshTopic))
	assert.Equal(t, http.StatusServiceUnavailable, a.status, "so that SNS asks again")
	assert.Contains(t, a.body["error"], "confirming subscription")
}

func TestESPSESWithoutAutoConfirmLogsTheSubscribeURL(t *testing.T) {
	k := newSNSKey(t)
	sns := fakeSNS(t, nil)
	g, logs := startLoggedGateway(t, "", espRoute("/ses", esp.SourceSES,
		"topic_arn "+freshTopic, "cert_file "+k.certFile))

	a := g.send(k.subscription(t, freshTopic))
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	assert.Empty(t, sns.requested(), "nothing confirmed")
	entries := logged(logs(), "sns subscription awaits confirmation: GET its subscribe_url")
	require.Len(t, entries, 1)
	assert.Equal(t, subscriptionURL, entries[0]["subscribe_url"])
	assert.Equal(t, freshTopic, entries[0]["topic_arn"])
}

func TestESPSESCertificatesAreFetchedFromSNSOrTheRequestIsUnavailable(t *testing.T) {
	k := newSNSKey(t)
	sns := fakeSNS(t, k.certPEM)
	rc := newReceiver(t, nil)
	g := startGateway(t, catchAllHook(rc.URL), espRoute("/ses", esp.SourceSES,
		"topic_arn "+freshTopic))

	sns.fail(errors.New("dial tcp: i/o timeout"))
	down := g.send(k.sign(t, snsMessage{Type: "Notification", MessageID: "n1",
		TopicArn: freshTopic, Message: sesDelivery("jane@example.com")}))
	assert.Equal(t, http.StatusServiceUnavailable, down.status, "so that SNS retries")
	assert.Contains(t, down.body["error"], "ses: verification unavailable")

	sns.fail(nil)
	up := g.send(k.sign(t, snsMessage{Type: "Notification", MessageID: "n1",
		TopicArn: freshTopic, Message: sesDelivery("jane@example.com")}))
	require.Equal(t, http.StatusOK, up.status, "%v", up.body)
	assert.Equal(t, 0.0, up.body["duplicates"], "the refused request stored nothing")
	rc.next(t, 5*time.Second)
	assert.Equal(t, []string{snsCertURL, snsCertURL}, sns.requested())
}

func TestESPMailgunRetryIsADuplicateButAnotherBodyIsRefused(t *testing.T) {
	key := randomKey(t, 24)
	rc := newReceiver(t, nil)
	g := startGateway(t, catchAllHook(rc.URL), espRoute("/mailgun", esp.SourceMailgun,
		"signing_key "+key))
	r := mailgunRequest(t, key, `{"event":"opened","id":"o1","timestamp":1796119200,`+
		`"recipient":"jane@example.com","client-info":{"bot":""}}`)

	first := g.send(r)
	require.Equal(t, http.StatusOK, first.status, "%v", first.body)
	var e map[string]any
	require.NoError(t, json.Unmarshal(rc.next(t, 5*time.Second).Body, &e))
	assert.Equal(t, true, e["is_human"])

	// Mailgun resends the signature block of a request it thinks failed.
	retry := g.send(r)
	require.Equal(t, http.StatusOK, retry.status, "%v", retry.body)
	assert.Equal(t, 1.0, retry.body["duplicates"])

	r.body = []byte(strings.Replace(string(r.body), `"o1"`, `"o2"`, 1))
	forged := g.send(r)
	assert.Equal(t, http.StatusUnauthorized, forged.status)
	assert.Contains(t, forged.body["error"], "already used with another body")
	rc.quiet(t, 200*time.Millisecond)
}

func TestESPBodiesThatAreNotTheirFormatAreBadRequests(t *testing.T) {
	key := newECDSAKey(t)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	g := startGateway(t, "", espRoute("/sendgrid", esp.SourceSendGrid,
		"verification_key "+base64.StdEncoding.EncodeToString(der), "max_body 1KiB")+"\n\t"+
		espRoute("/postmark", esp.SourcePostmark))

	for _, tc := range []struct {
		name   string
		r      espRequest
		status int
		err    string
	}{
		{"signed, not JSON", sendGridRequest(t, key, `[{"event":`), 400,
			"sendgrid: malformed body"},
		{"signed, not an array", sendGridRequest(t, key, `"hello"`), 400,
			"want an array of events, not a string"},
		{"unsigned, not JSON", espRequest{path: "/sendgrid", body: []byte(`[{"event":`)}, 401,
			"no X-Twilio-Email-Event-Webhook-Signature header"},
		{"too large", sendGridRequest(t, key, "["+strings.Repeat(" ", 2048)+"]"), 413,
			"over the limit of 1024 bytes"},
		{"unverified route, not JSON", espRequest{path: "/postmark", body: []byte("{")}, 400,
			"postmark: malformed body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := *g
			g.t = t
			a := g.send(tc.r)
			assert.Equal(t, tc.status, a.status)
			assert.Contains(t, a.body["error"], tc.err)
		})
	}
}

func TestESPSourcesWithoutVerificationWarnAtStartAndAcceptUnsignedRequests(t *testing.T) {
	rc := newReceiver(t, nil)
	g, logs := startLoggedGateway(t, catchAllHook(rc.URL),
		espRoute("/brevo", esp.SourceBrevo)+"\n\t"+
			"route /sendgrid {\n\t\thookgate_ingest sendgrid\n\t}\n\t"+
			"route /ses {\n\t\thookgate_ingest ses\n\t}")

	warned := map[string]string{}
	for _, e := range logs() {
		if e["level"] == "warn" && e["logger"] == "http.handlers.hookgate_ingest" {
			warned[e["source"].(string)] += e["msg"].(string) + "; "
		}
	}
	assert.Equal(t, map[string]string{
		"brevo": "ingest route accepts unsigned requests; ",
		"sendgrid": "ingest route accepts unsigned requests; ingest route has no domain " +
			"and this source's events name none; they will be rejected; ",
		"ses": "ingest route accepts notifications of any sns topic; set topic_arn; ",
	}, warned)

	a := g.send(espRequest{path: "/brevo", body: []byte(`{"event":"delivered",` +
		`"message-id":"<m1@mail.acme.example>","email":"jane@example.com","ts_epoch":1}`)})
	require.Equal(t, http.StatusOK, a.status, "%v", a.body)
	assert.Equal(t, 1.0, a.body["accepted"])
	rc.next(t, 5*time.Second)
}

func TestESPPlaceholdersAreReplacedWhenTheConfigurationLoads(t *testing.T) {
	token := randomKey(t, 16)
	t.Setenv("HOOKGATE_TEST_BREVO_TOKEN", token)
	rc := newReceiver(t, nil)
	g := startGateway(t, catchAllHook(rc.URL), espRoute("/brevo", esp.SourceBrevo,
		"bearer {env.HOOKGATE_TEST_BREVO_TOKEN}"))
	body := []byte(`{"event":"delivered","message-id":"m1","email":"jane@example.com"}`)

	for auth, want := range map[string]int{
		"Bearer " + token:                        http.StatusOK,
		"Bearer {env.HOOKGATE_TEST_BREVO_TOKEN}": http.StatusUnauthorized,
	} {
		a := g.send(espRequest{path: "/brevo", header: http.Header{"Authorization": {auth}},
			body: body})
		assert.Equal(t, want, a.status, "%s: %v", auth, a.body)
	}
	rc.next(t, 5*time.Second)
}

func TestESPRoutesThatCannotVerifyFailToLoad(t *testing.T) {
	for _, tc := range []struct {
		name, site, err string
	}{
		{"unset placeholder", espRoute("/brevo", esp.SourceBrevo,
			"bearer {env.HOOKGATE_TEST_UNSET}"),
			"bearer: '{env.HOOKGATE_TEST_UNSET}' is empty once its placeholders are replaced"},
		{"bad sendgrid key", espRoute("/sendgrid", esp.SourceSendGrid, "verification_key AAAA"),
			"source sendgrid: verification_key: not a base64 DER P-256 public key"},
		{"auto_confirm without topics", espRoute("/ses", esp.SourceSES, "auto_confirm"),
			"source ses: auto_confirm: requires topic_arn"},
		{"mandrill key without url", espRoute("/m", esp.SourceMandrill, "webhook_key k"),
			"source mandrill: url: required with webhook_key"},
		{"missing cert file", espRoute("/ses", esp.SourceSES, "cert_file /nonexistent.pem"),
			"source ses: cert_file: open /nonexistent.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.ErrorContains(t, loadFails(t, "", tc.site), tc.err)
		})
	}
}

func TestESPPassthroughHandsTheUntouchedRequestOn(t *testing.T) {
	legacy := newReceiver(t, nil)
	rc := newReceiver(t, nil)
	g := startGateway(t, catchAllHook(rc.URL), `route /brevo {
		hookgate_ingest brevo {
			domain mail.acme.example
			passthrough
		}
		reverse_proxy `+strings.TrimPrefix(legacy.URL, "http://")+`
	}`)
	body := `{"event":"delivered","message-id":"m1","email":"jane@example.com"}`

	a := g.send(espRequest{path: "/brevo", body: []byte(body)})
	assert.Equal(t, http.StatusNoContent, a.status, "the legacy integration answers")
	assert.Equal(t, body, string(legacy.next(t, 5*time.Second).Body))
	rc.next(t, 5*time.Second)
}
