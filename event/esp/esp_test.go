package esp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/event/esp/esptest"
)

func TestNewRefusesBadSettingsNamingThem(t *testing.T) {
	for _, tc := range []struct {
		name   string
		source string
		cfg    Config
		want   string
	}{
		{"unknown source", "mailchimp", Config{}, `unknown source "mailchimp"`},
		{"setting of another source", SourceSendGrid, Config{SigningKey: "k"},
			"signing_key: not a setting of source sendgrid"},
		{"secret on brevo", SourceBrevo, Config{Secret: "whsec_x"},
			"secret: not a setting of source brevo"},
		{"tolerance on postmark", SourcePostmark, Config{Tolerance: time.Minute},
			"tolerance: not a setting of source postmark"},
		{"sendgrid key not base64", SourceSendGrid, Config{VerificationKey: "not base64!"},
			"verification_key: not a base64 DER P-256 public key"},
		{"sendgrid key not DER", SourceSendGrid, Config{VerificationKey: "AAAA"},
			"verification_key: not a base64 DER P-256 public key"},
		{"sendgrid key on P-384", SourceSendGrid, Config{VerificationKey: p384Key(t)},
			"verification_key: not a base64 DER P-256 public key: the key is not on curve P-256"},
		{"negative tolerance", SourceMailgun, Config{SigningKey: "k", Tolerance: -time.Second},
			"tolerance: -1s is negative"},
		{"basic auth without user", SourcePostmark, Config{BasicAuth: &BasicAuth{Password: "p"}},
			"basic_auth: user is empty"},
		{"basic auth without password", SourceSparkPost,
			Config{BasicAuth: &BasicAuth{User: "u"}}, "basic_auth: password is empty"},
		{"basic auth user with colon", SourceBrevo,
			Config{BasicAuth: &BasicAuth{User: "a:b", Password: "p"}}, "basic_auth: user contains"},
		{"bearer with space", SourceBrevo, Config{Bearer: "a b"},
			"bearer: token contains whitespace"},
		{"topic not an ARN", SourceSES, Config{TopicARNs: []string{testTopic, "ses-events"}},
			`topic_arn[1]: "ses-events" is not an SNS topic ARN`},
		{"auto confirm without topics", SourceSES, Config{AutoConfirm: true},
			"auto_confirm: requires topic_arn"},
		{"cert file missing", SourceSES, Config{CertFile: "/nonexistent/sns.pem"},
			"cert_file: open /nonexistent/sns.pem"},
		{"cert file not PEM", SourceSES,
			Config{CertFile: filepath.Join(fixtureDir, "keys", "TEST-SECRETS.md")},
			"cert_file: testdata/fixtures/keys/TEST-SECRETS.md: no PEM certificate"},
		{"mandrill key without url", SourceMandrill, Config{WebhookKey: "k"},
			"url: required with webhook_key"},
		{"mandrill url without key", SourceMandrill, Config{URL: "https://h.example/"},
			"webhook_key: required with url"},
		{"mandrill url relative", SourceMandrill, Config{WebhookKey: "k", URL: "/webhooks"},
			`url: "/webhooks" is not an absolute URL`},
		{"resend secret without prefix", SourceResend, Config{Secret: "c2VjcmV0"},
			`secret: invalid secret: does not start with "whsec_"`},
		{"resend secret too short", SourceResend, Config{Secret: "whsec_c2VjcmV0"},
			"secret: invalid secret: key is 6 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.source, tc.cfg)
			assert.Nil(t, a)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// p384Key returns a base64 DER public key on the wrong curve.
func p384Key(t *testing.T) string {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(der)
}

func TestSourcesWithoutVerificationSettingsAcceptUnsignedRequests(t *testing.T) {
	for _, source := range Sources() {
		t.Run(source, func(t *testing.T) {
			a := newAdapter(t, source, Config{})
			assert.Equal(t, source, a.Source())
			assert.False(t, a.Verifies())
		})
	}
}

func TestSourcesWithVerificationSettingsVerify(t *testing.T) {
	for _, tc := range []struct {
		source string
		cfg    Config
	}{
		{SourceSendGrid, Config{VerificationKey: newSendGridKey(t).pub}},
		{SourceMailgun, Config{SigningKey: "key"}},
		{SourcePostmark, Config{Bearer: "token"}},
		{SourceSparkPost, Config{BasicAuth: &BasicAuth{User: "u", Password: "p"}}},
		{SourceBrevo, Config{Bearer: "token"}},
		{SourceSES, Config{TopicARNs: []string{testTopic}}},
		{SourceMandrill, Config{WebhookKey: "key", URL: "https://gw.example/m"}},
		{SourceResend, Config{Secret: esptest.ResendKey}},
	} {
		t.Run(tc.source, func(t *testing.T) {
			assert.True(t, newAdapter(t, tc.source, tc.cfg).Verifies())
		})
	}
}

func TestMalformedBodiesAreErrMalformed(t *testing.T) {
	for _, source := range Sources() {
		for _, body := range []string{`{"id":`, `"text"`, "[" + strings.Repeat("[", 70)} {
			t.Run(source+"/"+body[:3], func(t *testing.T) {
				r := &Request{Header: http.Header{}, Body: []byte(body)}
				if source == SourceMandrill {
					r.Body = []byte("mandrill_events=" + body)
				}
				res, err := parse(newAdapter(t, source, Config{}), r)
				assert.Nil(t, res)
				if source == SourceSES {
					// SNS signs the envelope, so SES checks it even
					// unconfigured: a body that is no SNS message is refused.
					assert.ErrorIs(t, err, ErrUnauthenticated)
					return
				}
				assert.ErrorIs(t, err, ErrMalformed)
			})
		}
	}
}

func TestBatchTooLargeIsMalformed(t *testing.T) {
	body := "[" + strings.TrimSuffix(strings.Repeat("{},", event.MaxBatch+1), ",") + "]"
	_, err := parse(newAdapter(t, SourceSendGrid, Config{}),
		&Request{Header: http.Header{}, Body: []byte(body)})
	assert.ErrorIs(t, err, ErrMalformed)
	assert.ErrorContains(t, err, "batch has 10001 events, over the limit of 10000")
}

func TestInvalidItemsAreRejectedWithoutSinkingTheOthers(t *testing.T) {
	res := parseUnsigned(t, SourceSendGrid, `[
		{"event":"delivered","email":"a@example.com","sg_event_id":"e1","timestamp":1778594400},
		7,
		{"email":"b@example.com","sg_event_id":"e3"},
		{"event":"open","sg_event_id":"e4","timestamp":"yesterday"},
		{"event":"group_resubscribe","sg_event_id":"e5"},
		{"event":"click","sg_event_id":"e6","timestamp":1778594400}
	]`)
	assert.Equal(t, []string{event.MessageDelivered, event.MessageClicked}, typesOf(res))
	assert.Equal(t, 1, res.Unmapped)
	require.Len(t, res.Rejected, 3)
	for i, want := range []struct {
		index int
		msg   string
	}{
		{1, "event must be an object, not a number"},
		{2, "event: missing; want a SendGrid event name"},
		{3, `timestamp: not RFC 3339 or unix seconds: "yesterday"`},
	} {
		assert.Equal(t, want.index, res.Rejected[i].Index)
		assert.EqualError(t, res.Rejected[i].Err, want.msg)
	}
}

func TestEventsWithoutAnyDomainAreRejected(t *testing.T) {
	a := newAdapter(t, SourceSendGrid, Config{})
	res, err := a.Parse(t.Context(), &Request{Header: http.Header{},
		Body: []byte(`[{"event":"open","sg_event_id":"e1","timestamp":1778594400}]`)},
		event.Defaults{})
	require.NoError(t, err)
	assert.Empty(t, res.Events)
	require.Len(t, res.Rejected, 1)
	assert.EqualError(t, res.Rejected[0].Err, "domain: required for message.opened events")
}

func TestHardBounceItemIsAtomic(t *testing.T) {
	// The inbound id is one byte over the limit: neither event is kept.
	id := strings.Repeat("x", event.MaxIDLength-len(inboundSuffix)+1)
	res := parseUnsigned(t, SourceSendGrid, `[{"event":"bounce","type":"bounce",`+
		`"sg_event_id":"`+id+`","timestamp":1778594400}]`)
	assert.Empty(t, res.Events)
	require.Len(t, res.Rejected, 1)
	assert.Contains(t, res.Rejected[0].Err.Error(), "over the limit")
}

func TestEventsKeepTheESPObjectAndRouteDefaults(t *testing.T) {
	a := newAdapter(t, SourceSendGrid, Config{})
	res, err := a.Parse(t.Context(), &Request{Header: http.Header{}, Body: []byte(
		`[{"event":"delivered","sg_event_id":"e1","attempt":"2","big":92356927693813801,` +
			`"account":"other","environment":"staging"}]`)},
		event.Defaults{Account: "acme", Domain: "Mail.Acme.Example.", Environment: "production",
			Received: testNow})
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	e := res.Events[0]
	assert.Equal(t, "acme", e.Account, "the route's account wins")
	assert.Equal(t, "mail.acme.example", e.Domain)
	assert.Equal(t, testNow, e.Time, "no timestamp: the time received")
	assert.Equal(t, "staging", field(e, "environment"), "the sender's environment wins")
	assert.Equal(t, "sendgrid", field(e, "source"))
	assert.Contains(t, string(e.Body()), `"big":92356927693813801`, "numbers stay exact")
	assert.Equal(t, map[string]any{"account": "other", "big": 92356927693813801.0,
		"environment": "staging"}, field(e, "metadata"))
}

func TestESPObjectsTooDeepForTheEventAreRejected(t *testing.T) {
	nested := func(n int) string {
		return `{"event":"delivered","x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	}
	res := parseUnsigned(t, SourceBrevo, nested(event.MaxDepth-2))
	assert.Len(t, res.Events, 1, "64 levels under esp")

	res = parseUnsigned(t, SourceBrevo, nested(event.MaxDepth-1))
	assert.Empty(t, res.Events)
	require.Len(t, res.Rejected, 1)
	assert.EqualError(t, res.Rejected[0].Err, "esp: nests deeper than 64 levels in the event")
}

func TestAdaptersAreSafeForConcurrentUse(t *testing.T) {
	k := newSNSKey(t)
	server := &certServer{cert: k.certPEM}
	ses := newAdapter(t, SourceSES, Config{TopicARNs: []string{testTopic},
		HTTPClient: server.client(), Now: clockAt(testNow)})
	mg := newAdapter(t, SourceMailgun, Config{SigningKey: mailgunKey, Now: clockAt(testNow)})
	sesReq := k.notification(t, "n1", sesRecord("Send", `["a@example.com"]`, ""))

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				_, err := parse(ses, sesReq)
				assert.NoError(t, err)
				_, err = parse(mg, mailgunRequest(mailgunKey, testNow,
					mailgunEventData(`"event":"opened"`)))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	assert.LessOrEqual(t, server.requests.Load(), int64(8), "fetched at most once per racer")
}

func TestSettingsNameWhatEachSourceTakes(t *testing.T) {
	for source, want := range map[string][]string{
		SourceSendGrid:  {"verification_key", "tolerance"},
		SourceMailgun:   {"signing_key", "tolerance"},
		SourcePostmark:  {"basic_auth", "bearer"},
		SourceSparkPost: {"basic_auth", "bearer"},
		SourceBrevo:     {"basic_auth", "bearer"},
		SourceSES:       {"topic_arn", "cert_file", "auto_confirm", "tolerance"},
		SourceMandrill:  {"webhook_key", "url"},
		SourceResend:    {"secret", "tolerance"},
		"mailchimp":     nil,
	} {
		assert.Equal(t, want, Settings(source), source)
	}
}

func TestGivenNamesTheSettingsSet(t *testing.T) {
	assert.Empty(t, Config{}.Given())
	cfg := Config{SigningKey: "k", BasicAuth: &BasicAuth{}, TopicARNs: []string{testTopic},
		AutoConfirm: true, Tolerance: time.Second}
	assert.Equal(t, []string{"signing_key", "basic_auth", "topic_arn", "auto_confirm",
		"tolerance"}, cfg.Given())
}

func TestNewRefusesExactlyTheSettingsASourceDoesNotTake(t *testing.T) {
	setting := map[string]Config{
		"verification_key": {VerificationKey: "x"}, "signing_key": {SigningKey: "k"},
		"basic_auth": {BasicAuth: &BasicAuth{}}, "bearer": {Bearer: "t"},
		"topic_arn": {TopicARNs: []string{"x"}}, "cert_file": {CertFile: "x"},
		"auto_confirm": {AutoConfirm: true}, "webhook_key": {WebhookKey: "k"},
		"url": {URL: "u"}, "secret": {Secret: "s"}, "tolerance": {Tolerance: time.Second},
	}
	for _, source := range Sources() {
		for name, cfg := range setting {
			_, err := New(source, cfg)
			refused := err != nil && strings.Contains(err.Error(), name+": not a setting of")
			assert.Equal(t, !slices.Contains(Settings(source), name), refused,
				"%s %s: %v", source, name, err)
		}
	}
}

func TestOnlySendGridBrevoAndPostmarkEventsNeedTheRoutesDomain(t *testing.T) {
	var need []string
	for _, source := range Sources() {
		if !NamesDomains(source) {
			need = append(need, source)
		}
	}
	assert.Equal(t, []string{SourceBrevo, SourcePostmark, SourceSendGrid}, need)
}
