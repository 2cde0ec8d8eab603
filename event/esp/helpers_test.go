package esp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookgate/hookgate/event"
)

// testNow is the clock of the tests that sign fresh payloads.
var testNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// clockAt returns a clock stopped at t.
func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

// testDefaults are the route defaults of the fresh-payload tests.
var testDefaults = event.Defaults{Account: "acme", Domain: "route.example"}

// parse runs one request through an adapter.
func parse(a Adapter, r *Request) (*Result, error) {
	return a.Parse(context.Background(), r, testDefaults)
}

// newAdapter returns the adapter of source for cfg, which must be valid.
func newAdapter(t testing.TB, source string, cfg Config) Adapter {
	t.Helper()
	a, err := New(source, cfg)
	require.NoError(t, err)
	return a
}

// parseUnsigned runs a body through the unverified adapter of source, the
// parsing path every verified request takes too.
func parseUnsigned(t testing.TB, source, body string) *Result {
	t.Helper()
	r := &Request{Header: http.Header{}, Body: []byte(body)}
	if source == SourceMandrill {
		r.Body = []byte(url.Values{"mandrill_events": {body}}.Encode())
	}
	res, err := parse(newAdapter(t, source, Config{}), r)
	require.NoError(t, err)
	return res
}

// typesOf returns the types of a result's events, in order.
func typesOf(res *Result) []string {
	var out []string
	for _, e := range res.Events {
		out = append(out, e.Type)
	}
	return out
}

// field returns a top-level field of an event.
func field(e *event.Event, name string) any { return e.Fields()[name] }

// sendGridKey is an ECDSA P-256 key pair that signs like SendGrid.
type sendGridKey struct {
	priv *ecdsa.PrivateKey
	pub  string // base64 DER, as the dashboard shows it
}

func newSendGridKey(t testing.TB) *sendGridKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	require.NoError(t, err)
	return &sendGridKey{priv: priv, pub: base64.StdEncoding.EncodeToString(der)}
}

// sign returns the signed request of body at time at.
func (k *sendGridKey) sign(t testing.TB, at time.Time, body string) *Request {
	t.Helper()
	ts := strconv.FormatInt(at.Unix(), 10)
	digest := sha256.Sum256([]byte(ts + body))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	require.NoError(t, err)
	h := http.Header{}
	h.Set(sendGridSignatureHeader, base64.StdEncoding.EncodeToString(sig))
	h.Set(sendGridTimestampHeader, ts)
	return &Request{Method: http.MethodPost, Header: h, Body: []byte(body)}
}

// mailgunTokens makes each signed Mailgun body's token unique.
var mailgunTokens atomic.Int64

// mailgunRequest returns a Mailgun body around eventData, signed with key
// at time at and a fresh token.
func mailgunRequest(key string, at time.Time, eventData string) *Request {
	ts := strconv.FormatInt(at.Unix(), 10)
	token := fmt.Sprintf("%050d", mailgunTokens.Add(1))
	body := fmt.Sprintf(`{"signature":{"timestamp":%q,"token":%q,"signature":%q},`+
		`"event-data":%s}`, ts, token, mailgunSignature(key, ts, token), eventData)
	return &Request{Header: http.Header{}, Body: []byte(body)}
}

// mailgunSignature is Mailgun's hex HMAC-SHA256 of timestamp and token.
func mailgunSignature(key, ts, token string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(ts + token))
	return hex.EncodeToString(mac.Sum(nil))
}

// snsKey is an RSA key and a self-signed certificate that sign like SNS.
type snsKey struct {
	priv     *rsa.PrivateKey
	certPEM  []byte
	certFile string
}

var (
	snsKeyOnce sync.Once
	snsKeyVal  *snsKey
)

// newSNSKey returns the test's SNS signing key; it is generated once per
// test binary, since RSA key generation is slow.
func newSNSKey(t testing.TB) *snsKey {
	t.Helper()
	snsKeyOnce.Do(func() {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "sns.us-east-1.amazonaws.com (test)"},
			NotBefore:    testNow.Add(-365 * 24 * time.Hour),
			NotAfter:     testNow.Add(365 * 24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
		if err != nil {
			panic(err)
		}
		snsKeyVal = &snsKey{
			priv:    priv,
			certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		}
	})
	k := *snsKeyVal
	k.certFile = filepath.Join(t.TempDir(), "sns.pem")
	require.NoError(t, os.WriteFile(k.certFile, k.certPEM, 0o600))
	return &k
}

// testTopic is the SNS topic of the fresh-payload tests.
const testTopic = "arn:aws:sns:us-east-1:111122223333:ses-events"

// testCertURL is a valid SigningCertURL.
const testCertURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc123.pem"

// notification returns an SNS Notification carrying message, signed with
// SignatureVersion 2.
func (k *snsKey) notification(t testing.TB, id, message string) *Request {
	t.Helper()
	subject := "Amazon SES Email Event Notification"
	return k.sign(t, &snsMessage{
		Type: snsNotification, MessageID: id, TopicArn: testTopic, Subject: &subject,
		Message: message, Timestamp: testNow.Format(time.RFC3339Nano),
		SignatureVersion: "2", SigningCertURL: testCertURL,
	})
}

// sign fills in the signature of m and returns it as a request.
func (k *snsKey) sign(t testing.TB, m *snsMessage) *Request {
	t.Helper()
	hash, digest, err := m.digest()
	require.NoError(t, err)
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.priv, hash, digest)
	require.NoError(t, err)
	m.Signature = base64.StdEncoding.EncodeToString(sig)

	body, err := json.Marshal(m)
	require.NoError(t, err)
	h := http.Header{}
	h.Set("X-Amz-Sns-Message-Type", m.Type)
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	return &Request{Header: h, Body: body}
}

// certServer is an http.RoundTripper standing in for SNS: it serves a
// certificate for every URL and counts the requests.
type certServer struct {
	cert     []byte
	status   int
	err      error
	requests atomic.Int64
	urls     chan string
}

func (s *certServer) RoundTrip(r *http.Request) (*http.Response, error) {
	s.requests.Add(1)
	if s.urls != nil {
		s.urls <- r.URL.String()
	}
	if s.err != nil {
		return nil, s.err
	}
	status := s.status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{
		StatusCode: status, Header: http.Header{}, Request: r,
		Body: io.NopCloser(strings.NewReader(string(s.cert))),
	}, nil
}

// client returns an HTTP client that talks to s.
func (s *certServer) client() *http.Client { return &http.Client{Transport: s} }

// mandrillSign signs a Mandrill form as Mandrill does.
func mandrillSign(key, rawURL string, form url.Values) string {
	return base64.StdEncoding.EncodeToString(mandrillMAC([]byte(key),
		mandrillSigned(rawURL, form)))
}

// mandrillRequest returns a signed Mandrill request carrying events.
func mandrillRequest(key, rawURL, events string) *Request {
	form := url.Values{"mandrill_events": {events}}
	h := http.Header{}
	h.Set(mandrillSignatureHeader, mandrillSign(key, rawURL, form))
	return &Request{Method: http.MethodPost, Header: h, Body: []byte(form.Encode())}
}

// resendRequest signs body as Svix does, computed here independently of the
// signer package, with the svix-* headers or, with prefix "webhook", the
// Standard Webhooks names.
func resendRequest(t testing.TB, secret, prefix, id string, at time.Time,
	body string,
) *Request {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + body))
	h := http.Header{}
	h.Set(prefix+"-id", id)
	h.Set(prefix+"-timestamp", ts)
	h.Set(prefix+"-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return &Request{Header: h, Body: []byte(body)}
}
