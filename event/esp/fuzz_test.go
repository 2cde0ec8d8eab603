package esp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookgate/hookgate/event"
	"github.com/hookgate/hookgate/event/esp/esptest"
)

// checkOutcome holds for every input: an error wraps one of the package's
// sentinels, and every event is valid and its canonical body parses back to
// itself.
func checkOutcome(t *testing.T, res *Result, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrMalformed) &&
			!errors.Is(err, ErrUnavailable) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		if res != nil {
			t.Fatalf("a result with an error: %v", err)
		}
		return
	}
	for _, e := range res.Events {
		if e.ID == "" || !event.IsType(e.Type) {
			t.Fatalf("event without id or known type: %s", e.Body())
		}
		again, err := event.Parse(e.Body(), event.Defaults{})
		if err != nil {
			t.Fatalf("canonical body does not parse: %v\n%s", err, e.Body())
		}
		if !bytes.Equal(again.Body(), e.Body()) {
			t.Fatalf("canonical body changed on reparse:\n%s\n%s", e.Body(), again.Body())
		}
	}
	for _, r := range res.Rejected {
		if r.Err == nil {
			t.Fatal("rejection without an error")
		}
	}
}

// fuzzDefaults are the route defaults of the fuzz targets.
var fuzzDefaults = event.Defaults{Account: "acme", Domain: "route.example",
	Received: testNow}

// fuzzParse runs a request through an adapter and checks the outcome.
func fuzzParse(t *testing.T, a Adapter, r *Request) {
	t.Helper()
	res, err := a.Parse(t.Context(), r, fuzzDefaults)
	checkOutcome(t, res, err)
}

// addFixtures seeds a fuzz target with the bodies of a source's fixtures.
func addFixtures(f *testing.F, source string, add func(body []byte, h http.Header)) {
	f.Helper()
	for _, fx := range loadFixtures(f) {
		if fx.Source == source {
			add(fx.Body, fx.Header)
		}
	}
}

func FuzzSendGrid(f *testing.F) {
	key := newSendGridKey(f)
	addFixtures(f, SourceSendGrid, func(body []byte, h http.Header) {
		f.Add(body, h.Get(sendGridSignatureHeader), h.Get(sendGridTimestampHeader))
	})
	f.Add([]byte(`[{"event":"open","timestamp":"1e9","category":[1,{}],"sg_machine_open":"1"}]`),
		"", "")
	f.Add([]byte(`{"event":"bounce","type":null,"email":7,"smtp-id":"<>"}`), "MEUCIQ", "12")

	unsigned := newAdapter(f, SourceSendGrid, Config{})
	verifying := newAdapter(f, SourceSendGrid, Config{VerificationKey: key.pub,
		Now: clockAt(testNow)})
	f.Fuzz(func(t *testing.T, body []byte, sig, ts string) {
		fuzzParse(t, unsigned, &Request{Header: http.Header{}, Body: body})
		h := http.Header{}
		h.Set(sendGridSignatureHeader, sig)
		h.Set(sendGridTimestampHeader, ts)
		fuzzParse(t, verifying, &Request{Header: h, Body: body})
	})
}

func FuzzMailgun(f *testing.F) {
	addFixtures(f, SourceMailgun, func(body []byte, _ http.Header) { f.Add(body) })
	f.Add([]byte(`{"event-data":{"event":"failed","severity":7,"timestamp":"1.5",` +
		`"client-info":{"bot":null},"message":{"headers":[]}}}`))
	f.Add([]byte(`{"signature":{"timestamp":1,"token":"t","signature":"zz"}}`))

	unsigned := newAdapter(f, SourceMailgun, Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		fuzzParse(t, unsigned, &Request{Header: http.Header{}, Body: body})
		// A fresh adapter each time, so that no token is spent; a small
		// replay cache keeps that cheap.
		verifying, err := NewMailgun(MailgunConfig{SigningKey: esptest.MailgunKey,
			ReplayCacheSize: 16, Now: clockAt(time.Unix(1778594400, 0))})
		if err != nil {
			t.Fatal(err)
		}
		fuzzParse(t, verifying, &Request{Header: http.Header{}, Body: body})
	})
}

// fuzzCredentials fuzzes an adapter of an ESP that signs nothing.
func fuzzCredentials(f *testing.F, source string, seeds ...string) {
	addFixtures(f, source, func(body []byte, h http.Header) {
		f.Add(body, h.Get("Authorization"))
	})
	for _, s := range seeds {
		f.Add([]byte(s), "Basic Og==")
	}
	unsigned := newAdapter(f, source, Config{})
	verifying := newAdapter(f, source, Config{Bearer: esptest.Bearer,
		BasicAuth: &BasicAuth{User: "pm-hook", Password: esptest.Password}})
	f.Fuzz(func(t *testing.T, body []byte, auth string) {
		fuzzParse(t, unsigned, &Request{Header: http.Header{}, Body: body})
		fuzzParse(t, verifying, &Request{Header: http.Header{"Authorization": {auth}},
			Body: body})
	})
}

func FuzzPostmark(f *testing.F) {
	fuzzCredentials(f, SourcePostmark,
		`{"RecordType":"Bounce","TypeCode":"1","ID":1e400,"BouncedAt":null}`,
		`{"RecordType":"Open","ReadSeconds":"NaN","Geo":"x","Metadata":[]}`,
		`{"RecordType":"SubscriptionChange","SuppressSending":"1",`+
			`"SuppressionReason":"ManualSuppression"}`)
}

func FuzzSparkPost(f *testing.F) {
	fuzzCredentials(f, SourceSparkPost,
		`[{"msys":{}},{"msys":{"a":{},"b":{"type":"bounce","bounce_class":10}}}]`,
		`[{"msys":{"track_event":{"type":"click","timestamp":"x","rcpt_meta":"m"}}}]`)
}

func FuzzBrevo(f *testing.F) {
	fuzzCredentials(f, SourceBrevo,
		`{"event":"proxyOpen","ts_epoch":"1e30","tag":"[1]","X-Mailin-custom":"{\"a\":[]}"}`,
		`[{"event":"X"},{"event":"hard_bounce","ts_epoch":-1,"ts":"x"}]`)
}

func FuzzMandrill(f *testing.F) {
	addFixtures(f, SourceMandrill, func(body []byte, h http.Header) {
		form, _ := url.ParseQuery(string(body))
		f.Add(body, form.Get("mandrill_events"), h.Get(mandrillSignatureHeader))
	})
	f.Add([]byte("mandrill_events=%5B%5D&a=1&a=2"), `[{"type":"whitelist"},{"event":7}]`, "AA==")

	unsigned := newAdapter(f, SourceMandrill, Config{})
	verifying := newAdapter(f, SourceMandrill, Config{WebhookKey: esptest.MandrillKey,
		URL: esptest.MandrillURL})
	f.Fuzz(func(t *testing.T, body []byte, events, sig string) {
		form := url.Values{"mandrill_events": {events}}.Encode()
		fuzzParse(t, unsigned, &Request{Header: http.Header{}, Body: []byte(form)})
		fuzzParse(t, unsigned, &Request{Header: http.Header{}, Body: body})
		fuzzParse(t, verifying, &Request{
			Header: http.Header{"X-Mandrill-Signature": {sig}}, Body: body})
	})
}

func FuzzResend(f *testing.F) {
	addFixtures(f, SourceResend, func(body []byte, h http.Header) {
		f.Add(body, h.Get("Svix-Id"), h.Get("Svix-Timestamp"), h.Get("Svix-Signature"))
	})
	f.Add([]byte(`{"type":"email.clicked","data":{"to":"x","click":[],"tags":[{"name":1}]}}`),
		"", "", "v1,")

	unsigned := newAdapter(f, SourceResend, Config{})
	verifying := newAdapter(f, SourceResend, Config{Secret: esptest.ResendKey,
		Now: clockAt(time.Unix(1778594405, 0))})
	f.Fuzz(func(t *testing.T, body []byte, id, ts, sig string) {
		h := http.Header{}
		h.Set("Svix-Id", id)
		fuzzParse(t, unsigned, &Request{Header: h, Body: body})
		h.Set("Svix-Timestamp", ts)
		h.Set("Svix-Signature", sig)
		fuzzParse(t, verifying, &Request{Header: h, Body: body})
	})
}

// fuzzSNSKey is a small RSA key, fast enough to sign every fuzz input.
type fuzzSNSKey struct {
	priv     *rsa.PrivateKey
	certFile string
}

func newFuzzSNSKey(f *testing.F) *fuzzSNSKey {
	priv, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"},
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		f.Fatal(err)
	}
	file := filepath.Join(f.TempDir(), "sns.pem")
	if err := os.WriteFile(file,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		f.Fatal(err)
	}
	return &fuzzSNSKey{priv: priv, certFile: file}
}

func FuzzSES(f *testing.F) {
	addFixtures(f, SourceSES, func(body []byte, _ http.Header) {
		var m snsMessage
		_ = json.Unmarshal(body, &m)
		f.Add(body, m.Message)
	})
	f.Add([]byte(`{"Type":"Notification","Subject":null,"SignatureVersion":"1"}`),
		`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{},1]}}`)
	f.Add([]byte(`{"Type":"SubscriptionConfirmation","SubscribeURL":"https://sns.x.amazonaws.com"}`),
		`{"notificationType":"Open","mail":{"destination":"a","tags":{"ses:from-domain":[7]}}}`)

	key := newFuzzSNSKey(f)
	pinned := newAdapter(f, SourceSES, Config{CertFile: key.certFile, Now: clockAt(testNow)})
	fixtures := newAdapter(f, SourceSES, Config{
		CertFile: filepath.Join(fixtureDir, "keys", "sns-test-signing-cert.pem"),
		Now:      clockAt(time.Date(2026, 5, 12, 14, 0, 0, 0, time.UTC)),
	})
	f.Fuzz(func(t *testing.T, body []byte, message string) {
		fuzzParse(t, fixtures, &Request{Header: http.Header{}, Body: body})

		// JSON cannot carry invalid UTF-8: sign what the body will hold.
		message = strings.ToValidUTF8(message, "\uFFFD")
		m := &snsMessage{Type: snsNotification, MessageID: "fuzz", TopicArn: testTopic,
			Message: message, Timestamp: testNow.Format(time.RFC3339), SignatureVersion: "2"}
		if strings.HasPrefix(message, "You") {
			m.Type, m.SubscribeURL = snsSubscribe, testSubscribeURL
		}
		hash, digest, _ := m.digest()
		sig, err := rsa.SignPKCS1v15(nil, key.priv, hash, digest)
		if err != nil {
			t.Fatal(err)
		}
		m.Signature = base64.StdEncoding.EncodeToString(sig)
		signed, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		fuzzParse(t, pinned, &Request{Header: http.Header{}, Body: signed})
	})
}
